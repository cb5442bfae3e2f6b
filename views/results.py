"""Results: the ranked cities of one forecast on a map, a table, charts; live what-if; exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pydeck as pdk
import streamlit as st

from core import calibration, charts, choropleth, deep_reports, exports, reports, whatif
from core.db import repo
from core.errors import AppError
from core.forecast import ScoreWeights, evaluate, rank
from core.service import product_from_params, result_limit, result_table, run_forecast
from core.text import ascii_label, md_escape
from views import _ui

st.title("Results")
forecast_id = st.session_state.get("forecast_id")
if not forecast_id:
    st.info("No forecast is open. Run one, or reopen one from History.")
    st.page_link("views/new_forecast.py", label="New forecast", icon=":material/add_chart:")
    st.page_link("views/history.py", label="History", icon=":material/history:")
    st.stop()

ca = _ui.cities()
_ui.warm_chart_renderer()
user = _ui.current_user()
limit = result_limit(user)
try:
    record = _ui.forecast_record(forecast_id)
except AppError as exc:
    st.error(str(exc))
    st.stop()
product = product_from_params(record.params)
scope = record.params.get("countries") or []
stored = result_table(record, ca)
prep = _ui.prepared(forecast_id, product)

st.subheader(md_escape(product.name))
if warning := st.session_state.pop("rs_warning", None):
    st.warning(warning)
st.caption(
    f"{product.category} · price ${product.price:,.2f} · unit cost ${product.unit_cost:,.2f} · "
    f"ships from {md_escape(product.ships_from) if product.ships_from else 'each country’s largest city'} · scope {', '.join(scope) or 'world'} · "
    f"saved {record.created_at:%Y-%m-%d %H:%M} UTC"
)
st.caption(
    "Expected units are a prior from open data and documented assumptions (docs/methodology.md); the "
    "competition index is a proxy. Unit costs exclude customer acquisition: the Agents view plans the ad "
    "budget, CAC and ROAS."
)


calibrations = repo.list_calibrations(_ui.db(), user.id if user else None)  # read once, not per slider move


def _reset_what_if() -> None:
    """Back to the saved forecast's values (a callback: it runs before the sliders are drawn)."""
    ss = st.session_state
    ss["rs_price"], ss["rs_cost"] = product.price, product.unit_cost
    w = product.weights
    ss["rs_w_demand"], ss["rs_w_profit"], ss["rs_w_comp"] = w.demand, w.profitability, w.competition


def _save_what_if(price: float, cost: float, weights: ScoreWeights) -> None:
    """The what-if values become a forecast of their own (same product, scope and ships-from)."""
    new = product.model_copy(update={"price": price, "unit_cost": cost, "weights": weights})
    try:
        with st.status("Saving the what-if as a new forecast ...", expanded=True) as status:
            new_id = run_forecast(_ui.db(), ca, new, scope or None, user=user, on_step=status.write)
            _ui.run_agents_for(new_id, new, scope or None, None, user, status.write)
            status.update(label="Saved", state="complete")
    except AppError as exc:
        st.error(str(exc))
        return
    _ui.open_forecast(new_id)  # the new forecast, with fresh what-if controls
    st.rerun()


@st.fragment
def workspace() -> None:
    ss = st.session_state
    with st.container(border=True):
        st.markdown("**What-if**")
        c1, c2, c3, c4, c5 = st.columns(5)
        p0, u0 = product.price, product.unit_cost
        price = c1.slider("Price (US$)", round(0.3 * p0, 2), round(3 * p0, 2), p0, step=max(0.01, round(p0 / 100, 2)),
                          key="rs_price")  # fmt: skip
        cost = c2.slider("Unit cost (US$)", 0.0, round(max(2 * u0, p0), 2), u0, step=max(0.01, round(p0 / 100, 2)),
                         key="rs_cost")  # fmt: skip
        w = product.weights
        wd = c3.slider("Weight: demand", 0.0, 1.0, w.demand, 0.05, key="rs_w_demand")
        wp = c4.slider("Weight: profitability", 0.0, 1.0, w.profitability, 0.05, key="rs_w_profit")
        wc = c5.slider("Weight: low competition", 0.0, 1.0, w.competition, 0.05, key="rs_w_comp")
    if wd + wp + wc == 0:
        st.error("Set at least one score weight above zero.")
        return
    weights = ScoreWeights(demand=wd, profitability=wp, competition=wc)
    ev = evaluate(prep, price=price, unit_cost=cost, weights=weights)
    live = (price, cost, weights) != (p0, u0, product.weights)
    table = rank(ev, countries=scope, top=limit) if live else stored.head(limit)
    if live:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Recomputed live for the what-if values; the saved forecast is unchanged.")
            st.button("Reset what-if", key="rs_reset", on_click=_reset_what_if, icon=":material/restart_alt:")
            if st.button("Save as a new forecast", key="rs_save_new", icon=":material/save:",
                         help="Runs and saves a forecast with these values (counts against the monthly quota)"):
                _save_what_if(price, cost, weights)
    if user is not None and user.plan.max_cities is not None:
        st.caption(f"The {user.plan.label} plan shows the top {user.plan.max_cities} cities. "
                   "Upgrade on the Account page to see more.")  # fmt: skip

    with st.container(horizontal=True):
        opts = sorted(table["country_iso2"].unique())
        f_countries = st.multiselect("Filter countries", opts, key="rs_countries")
        reg_opts = sorted(table.loc[table["country_iso2"].isin(f_countries), "region"].unique()) if f_countries else []
        f_regions = st.multiselect("Filter regions", reg_opts, key="rs_regions", disabled=not f_countries)
        f_minpop = st.number_input("Min. population", min_value=0, value=0, step=50_000, key="rs_minpop")
    shown = whatif.filter_ranking(table, f_countries, f_regions, float(f_minpop))
    if calibrations and st.toggle("Rank by calibrated predictions", key="rs_calibrated",
                                  help="Re-rank by a saved calibration on your own sales (Calibrate page)"):  # fmt: skip
        cal_ids = [c["id"] for c in calibrations]
        pick = st.selectbox("Calibration", cal_ids, key="rs_cal_pick",
                            format_func=lambda i: next(c["name"] for c in calibrations if c["id"] == i))  # fmt: skip
        cal = repo.load_calibration(_ui.db(), pick, user.id if user else None)
        shown = calibration.apply_calibration(shown, cal["predictions"])
        st.caption(f"Ranked by predicted {cal['measure']} from your sales; cities without a prediction follow in "
                   "prior order. `prior_rank` keeps the open-data rank.")  # fmt: skip
    if shown.empty:
        st.info("No city passes the filters. Clear a filter or lower the minimum population.")
        return

    m = whatif.headline_metrics(shown)
    k1, k2, k3, k4, k5 = st.columns(5)
    best = shown.iloc[0]
    k1.metric("Best city", str(best["city"]), help=f"{best['city']}, {best['region']} ({best['country_iso2']})")
    k2.metric("Units / month", f"{m['units']:,.0f}", help=f"Sum over the {m['cities']:,.0f} shown cities; 80 % "
              f"range per city summed: {m['units_low']:,.0f} - {m['units_high']:,.0f}")  # fmt: skip
    k3.metric("Revenue / month", _ui.money(m["revenue"]), help="Sum over the shown cities")
    k4.metric("Profit / month", _ui.money(m["profit"]),
              help="Sum over the shown cities that make money at this price and cost, before acquisition cost. "
                   "Loss-making cities are counted apart, below.")  # fmt: skip
    k5.metric("Best city's price", _ui.money(float(best["recommended_price_usd"])),
              help="Recommended price in the best city (bounded to 2/3 - 1.5x its local reference price)")

    if m["loss_cities"]:
        st.warning(f"{m['loss_cities']:,.0f} of the {m['cities']:,.0f} shown cities lose money at this price and unit "
                   f"cost ({_ui.money(m['loss'])} / month, not in the profit above): unit cost, shipping, fees and duty there "
                   "exceed the price. They are flagged in the ranking, the map and the exports.")  # fmt: skip

    if ss.get("rs_city") not in set(shown["city_id"]):
        ss["rs_city"] = int(shown.iloc[0]["city_id"])

    # One view at a time: a slider change then rebuilds only what is on screen.
    if ss.pop("_rs_open_detail", False):
        ss["rs_view"] = "Why this score"  # a city was clicked on the map: open its detail
    ss.setdefault("rs_view", VIEWS[0])  # set through session state only: no default beside it (no warning)
    view = st.segmented_control(
        "View", VIEWS, key="rs_view", label_visibility="collapsed", required=True
    )
    selected = shown[shown["city_id"] == ss["rs_city"]].iloc[0]
    if view == "Map":
        _map(shown)
    elif view == "Ranking":
        _table(shown)
    elif view == "Why this score":
        _why(selected)
    elif view == "Charts":
        _charts(ev, shown, selected, price)
    elif view == "Agents":
        _agents(price)
    else:
        _exports(shown, price, cost, weights)


VIEWS = ["Map", "Ranking", "Why this score", "Charts", "Agents", "Export"]


MAP_LABELS = 10  # the best cities are named on the map


MAP_MODES = ["Cities", "Countries", "Regions (approximate borders)"]


def _map(shown) -> None:
    c1, c2 = st.columns([2, 2])
    mode = c1.segmented_control("Map of", MAP_MODES, key="rs_map_mode", default=MAP_MODES[0], required=True)
    if mode != MAP_MODES[0]:
        measure = c2.selectbox("Measure", list(choropleth.MEASURES), key="rs_map_measure",
                               format_func=lambda m: choropleth.MEASURES[m][0])  # fmt: skip
        _choropleth_map(shown, mode, measure)
        return
    top = shown.head(1000)
    units = top["expected_units_month"].to_numpy()
    opp = top["opportunity_score"].to_numpy()
    lo, hi = float(opp.min()), float(opp.max())  # the colour scale spans the shown cities, not 0-100
    view = _ui.view_for(top["lat"].to_numpy(), top["lon"].to_numpy())
    px = 4 + 16 * np.sqrt(units / max(units.max(), 1e-9))  # dot size in pixels at the first view: expected units
    data = top[["city_id", "city", "country_iso2", "lat", "lon"]].assign(
        color=_ui.ramp(opp, lo, hi),
        px=px,
        # metres, so a dot is ``px`` pixels at the first view and grows with the map when zooming in
        radius=px * _ui.METERS_PER_PIXEL_ZOOM0 * np.cos(np.radians(view.latitude)) / 2**view.zoom,
        opp=top["opportunity_score"].map("{:.1f}".format),
        dem=top["demand_score"].map("{:.1f}".format),
        comp=top["competition_index"].map("{:.1f}".format),
        units_txt=top["expected_units_month"].map("{:,.1f}".format),
        price_txt=top["recommended_price_usd"].map("${:,.2f}".format),
        rank=top["rank"],
        loss_txt=np.where(top["loss_making"], "<br/><b>Loses money at this price and cost</b>", ""),
        line=[[200, 30, 30] if x else [255, 255, 255] for x in top["loss_making"]],
    )
    layer = pdk.Layer(  # drawn worst first, so the best cities' dots sit on top
        "ScatterplotLayer", data=data.iloc[::-1], id="results", get_position=["lon", "lat"], get_fill_color="color",
        get_radius="radius", radius_min_pixels=2, pickable=True, stroked=True,
        get_line_color="line", line_width_min_pixels=1,
    )  # fmt: skip
    # deck.gl's text layer draws ASCII glyphs: names are written without accents on the map (Koln, Sao
    # Paulo); the tooltip and the tables keep the real spelling.
    labels = data.head(MAP_LABELS).assign(label=[f"{r}. {ascii_label(c)}" for r, c in
                                                 zip(data["rank"].head(MAP_LABELS), data["city"].head(MAP_LABELS), strict=True)])  # fmt: skip
    names = pdk.Layer(
        "TextLayer", data=labels[["lon", "lat", "label"]], id="labels", get_position=["lon", "lat"],
        get_text="label", get_size=14, get_color=[20, 20, 20, 255], get_text_anchor="'start'",
        get_pixel_offset=[9, 0],
    )  # fmt: skip
    tooltip = {"html": "<b>#{rank} {city}</b> ({country_iso2})<br/>Opportunity {opp} · demand {dem} · "
               "competition {comp}<br/>Units/month {units_txt} · recommended price {price_txt}{loss_txt}"}  # fmt: skip
    event = st.pydeck_chart(
        _ui.deck([layer, names], view, tooltip),
        on_select="rerun", selection_mode="single-object", key="rs_map",
    )  # fmt: skip
    _ui.legend(f"Opportunity score of the shown cities (dot size: expected units, {units.min():,.1f} - "
               f"{units.max():,.1f} a month; red outline: loses money)", f"{lo:.1f}", f"{hi:.1f}")  # fmt: skip
    clicked = _ui.selected_object_id(event, "results")
    if clicked is not None and clicked != st.session_state.get("_rs_last_click"):
        st.session_state["_rs_last_click"] = clicked  # act on a new click only, not a kept selection
        st.session_state["rs_city"] = clicked
        st.session_state["_rs_open_detail"] = True
        st.rerun(scope="fragment")


def _choropleth_map(shown, mode: str, measure: str) -> None:
    try:
        ch = (choropleth.countries if mode == MAP_MODES[1] else choropleth.regions)(shown, ca, measure)
    except AppError as exc:
        st.info(str(exc))
        return
    if ch.shapes.empty:
        st.info("None of the shown cities lies in an area with a shape at this scale.")
        return
    values = ch.shapes["value"].to_numpy(float)
    lo, hi = float(values.min()), float(values.max())
    money_measure = measure in ("revenue", "profit")
    data = ch.shapes.assign(
        color=_ui.ramp(values, lo, hi),
        value_txt=[_ui.money(v) if money_measure else f"{v:,.1f}" for v in values],
    )
    layer = pdk.Layer("GeoJsonLayer", data=data.__geo_interface__, id="choropleth", stroked=True, filled=True,
                      get_fill_color="properties.color", get_line_color=[255, 255, 255], line_width_min_pixels=0.5,
                      pickable=True)  # fmt: skip
    bounds = ch.shapes.total_bounds  # minx, miny, maxx, maxy
    view = _ui.view_for(np.array([bounds[1], bounds[3]]), np.array([bounds[0], bounds[2]]))
    tooltip = {"html": "<b>{name}</b> ({country_iso2})<br/>" + ch.label + ": {value_txt}<br/>{cities} ranked cities"}
    st.pydeck_chart(_ui.deck([layer], view, tooltip), key="rs_choropleth")
    _ui.legend(ch.label + (" over the shown cities" if MEASURES_SUMMED.get(measure) else ""), data["value_txt"].iloc[int(
        np.argmin(values))], data["value_txt"].iloc[int(np.argmax(values))])  # fmt: skip
    notes = []
    if ch.approximate:
        notes.append("Region borders are approximate: each region is the area closer to its own cities than to "
                     "others' (Voronoi cells of every city, clipped to the country); the values are exact sums.")  # fmt: skip
    if ch.unmapped_cities:
        notes.append(f"{ch.unmapped_cities:,} shown cities lie in areas too small for the 1:110m shapes "
                     "(e.g. Singapore) and are not drawn.")  # fmt: skip
    if notes:
        st.caption(" ".join(notes))


MEASURES_SUMMED = {m: how == "sum" for m, (_l, _c, how) in choropleth.MEASURES.items()}


TABLE_LABELS = {  # column -> (label, shown by default): what an analyst reads first is on by default
    "rank": ("#", True), "city": ("City", True), "country_iso2": ("Country", True),
    "opportunity_score": ("Opportunity", True), "expected_units_month": ("Units/mo", True),
    "expected_revenue_usd_month": ("Revenue/mo", True), "profit_usd_month": ("Profit/mo", True),
    "loss_making": ("Loses money", True), "recommended_price_usd": ("Rec. price", True),
    "region": ("Region", False), "population": ("Population", False), "demand_score": ("Demand", False),
    "competition_index": ("Competition", False), "profitability_score": ("Profitability", False),
    "expected_units_low": ("Units low", False), "expected_units_high": ("Units high", False),
    "good_price_low_usd": ("Good price from", False), "good_price_high_usd": ("Good price to", False),
    "city_id": ("GeoNames id", False),
}  # fmt: skip
TABLE_COLUMNS = list(TABLE_LABELS)
CALIBRATED_COLUMNS = ["calibrated_prediction", "prior_rank"]


def _table(shown) -> None:
    extra = [c for c, (_label, default) in TABLE_LABELS.items() if not default]
    more = st.multiselect("More columns", extra, key="rs_more_cols", format_func=lambda c: TABLE_LABELS[c][0])
    columns = [c for c, (_label, default) in TABLE_LABELS.items() if default or c in more or c == "city_id"]
    grid = st.dataframe(
        shown[columns + [c for c in CALIBRATED_COLUMNS if c in shown.columns]], hide_index=True, on_select="rerun",
        selection_mode="single-row", key="rs_table", height=560,
        column_config={
            "rank": st.column_config.NumberColumn("#", format="%d"),
            "city": "City", "region": "Region", "country_iso2": "Country",
            "population": st.column_config.NumberColumn("Population", format="localized"),
            "opportunity_score": st.column_config.ProgressColumn("Opportunity", min_value=0, max_value=100, format="%.1f"),
            "demand_score": st.column_config.NumberColumn("Demand", format="%.1f"),
            "competition_index": st.column_config.NumberColumn("Competition", format="%.1f"),
            "profitability_score": st.column_config.NumberColumn("Profitability", format="%.1f"),
            "expected_units_month": st.column_config.NumberColumn("Units/mo", format="%.1f"),
            "expected_units_low": st.column_config.NumberColumn("Units low", format="%.1f"),
            "expected_units_high": st.column_config.NumberColumn("Units high", format="%.1f"),
            "expected_revenue_usd_month": st.column_config.NumberColumn("Revenue/mo", format="dollar"),
            "profit_usd_month": st.column_config.NumberColumn("Profit/mo", format="dollar",
                                                              help="Before acquisition cost"),
            "loss_making": st.column_config.CheckboxColumn("Loses money"),
            "recommended_price_usd": st.column_config.NumberColumn("Rec. price", format="$%.2f"),
            "good_price_low_usd": st.column_config.NumberColumn("Good price from", format="$%.2f",
                                                                help="Prices earning 95 % of the best profit"),
            "good_price_high_usd": st.column_config.NumberColumn("Good price to", format="$%.2f"),
            # the id travels with every row (selection, tests) and is shown only when asked for
            "city_id": st.column_config.NumberColumn("GeoNames id", format="%d") if "city_id" in more else None,
        },
    )  # fmt: skip
    rows = grid.selection.rows if grid is not None else []
    if rows:
        picked = int(shown.iloc[rows[0]]["city_id"])
        if picked != st.session_state.get("rs_city"):
            st.session_state["rs_city"] = picked
            st.rerun(scope="fragment")


def _why(row) -> None:
    st.markdown(f"#### #{int(row['rank'])} {row['city']}, {row['region']} ({row['country_iso2']})")
    s1, s2, s3, s4 = st.columns(4)
    s1.metric("Opportunity", f"{row['opportunity_score']:.1f}")
    s2.metric("Demand", f"{row['demand_score']:.1f}")
    s3.metric("Competition", f"{row['competition_index']:.1f}")
    s4.metric("Profitability", f"{row['profitability_score']:.1f}")
    parts = whatif.score_breakdown(row)
    st.plotly_chart(charts.breakdown_figure(parts), key="rs_why_chart")
    st.caption("Demand terms are points relative to the median city; the other scores' terms add up to the score.")
    facts = {
        "Online buyers": f"{row['online_buyers']:,.0f}",
        "Spend per buyer (category, US$/yr)": f"{row['spend_per_buyer_usd_year']:,.0f}",
        "Market size (US$/month)": f"{row['market_size_usd_month']:,.0f}",
        "Local reference price": f"${row['local_reference_price_usd']:,.2f}",
        "Age fit": f"{row['age_fit']:.2f}",
        "Delivery days": f"{row['delivery_days']:.1f}",
        "Shipping per unit": f"${row['shipping_cost_usd']:,.2f}",
        "Total unit cost": f"${row['total_unit_cost_usd']:,.2f}",
        "Margin": f"{100 * row['margin_rate']:.1f} %",
        "Expected units (low-high)": f"{row['expected_units_month']:,.1f} ({row['expected_units_low']:,.1f}-"
        f"{row['expected_units_high']:,.1f})",
    }
    st.dataframe({"term": list(facts), "value": list(facts.values())}, hide_index=True)
    _ui.city_detail(int(row["city_id"]))


def _charts(ev, shown, selected, price: float) -> None:
    most = min(100, len(shown))  # never more than the plan shows (Basic: 10)
    n = most if most <= 5 else st.slider("Top N for the charts", 5, most, min(20, most), 5 if most >= 10 else 1,
                                         key="rs_topn")  # fmt: skip
    st.plotly_chart(charts.to_plotly(charts.top_cities_bar(shown, n)), key="rs_top_bar")
    st.plotly_chart(charts.to_plotly(charts.demand_vs_competition(shown, 200)), key="rs_bubble")
    grid = whatif.price_grid(price, float(selected["local_reference_price_usd"]))
    i = np.searchsorted(ev.prepared.ca.city_id, int(selected["city_id"]))
    city_curve = whatif.price_curve(ev, np.array([i]), grid)
    st.plotly_chart(
        charts.to_plotly(charts.price_curve_chart(
            city_curve, price, float(selected["recommended_price_usd"]), f"Price curve: {selected['city']}")),
        key="rs_curve_city",
    )  # fmt: skip
    idx = np.searchsorted(ev.prepared.ca.city_id, shown.head(n)["city_id"].to_numpy())
    top_curve = whatif.price_curve(ev, idx, grid)
    st.plotly_chart(
        charts.to_plotly(charts.price_curve_chart(
            top_curve, price, whatif.best_price(top_curve), f"Price curve: top {len(idx)} cities together")),
        key="rs_curve_top",
    )  # fmt: skip
    st.plotly_chart(charts.to_plotly(charts.country_bar(whatif.country_summary(shown))), key="rs_country")


def _agents(price: float) -> None:
    results = _ui.agent_results(forecast_id)
    if not results:
        st.info("No agent results were stored for this forecast. Run a new forecast to get them.")
        return
    tabs = st.tabs([_ui.AGENT_LABELS[a] for a in _ui.AGENT_LABELS if a in results])
    for tab, agent in zip(tabs, [a for a in _ui.AGENT_LABELS if a in results], strict=True):
        out = results[agent]
        with tab:
            if "error" in out:
                st.error(out["error"])
                continue
            st.caption(f"written by the {out.get('writer')} writer · {out.get('duration_ms', 0):.0f} ms")
            for notice in out.get("notices", []):
                st.warning(notice)
            st.markdown(md_escape(out["narrative"]["summary"]))
            _AGENT_VIEWS[agent](out, price)


def _view_product(out: dict, _price: float) -> None:
    st.markdown(f"*{md_escape(out['narrative']['positioning'])}*")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Units / month, top 10 cities", f"{out['demand_potential']:,.0f}",
              help=f"Revenue {_ui.money(out.get('demand_revenue_usd_month', 0.0))} a month (the forecast's ranking)")
    c2.metric("Price fit", f"{out['market_fit']['score']:.0f}/100", help="Share of the top 10 cities where the price "
              "earns at least 95 % of the best profit")  # fmt: skip
    c3.metric("Category complexity", f"{out['production_complexity']['score'] / 20:.0f}/5",
              help="A category table value (assumption), not a rating of this product")
    c4.metric("Price position", f"{out['quality_expected']['score']:.0f}/100", help="50 = the category's typical price")
    for key, label in (("market_fit", "price fit"), ("production_complexity", "complexity"), ("quality_expected", "price position")):
        st.caption(f"{label}: " + md_escape("; ".join(out[key]["reasons"])))
    st.caption("Closest categories for the text: " + ", ".join(f"{n} ({s:.2f})" for n, s in out["suggested_categories"]))


def _view_market(out: dict, _price: float) -> None:
    _ui.agent_table(out["cities"], {
        "rank": ("#", "int"), "city": ("City", "text"), "country_iso2": ("Country", "text"),
        "opportunity_score": ("Opportunity", "num"), "demand_score": ("Demand", "num"),
        "competition_index": ("Competition", "num"), "demographic_match": ("Age fit (100 = world mix)", "num"),
        "purchasing_power_index": ("Purchasing power (100 = median)", "num"),
        "online_buyers_pct": ("Online buyers %", "num"), "expected_units_month": ("Units/mo", "num"),
    })  # fmt: skip
    for note in out["narrative"]["cultural_notes"]:
        st.markdown(f"- **{md_escape(note['city'])}**: {md_escape(note['note'])}")


def _view_ads(out: dict, price: float) -> None:
    from core import budget as bm

    curves = bm.curves_from_params(out["curves"])
    b0 = float(out["budget_usd_month"])
    ad_budget = st.slider("Monthly ad budget (US$)", 0.0, round(max(5 * b0, 1000.0), -1), b0, step=max(10.0, round(b0 / 50, -1)),
                          key="rs_budget")  # fmt: skip
    if ad_budget <= 0:
        st.info("Set a budget above zero to see the split.")
        return
    plan = bm.plan(curves, ad_budget, price, float(out["unit_margin_usd"]))
    opt = plan.totals.set_index("split").loc["optimised"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Orders / month (optimised)", f"{opt['conversions']:,.0f}")
    c2.metric("CAC", _ui.money(float(opt["cac_usd"])))
    c3.metric("ROAS", f"{opt['roas']:.2f}")
    c4.metric("Break-even ROAS", f"{plan.break_even_roas:.2f}")
    st.dataframe(plan.table, hide_index=True, column_config={
        "spend_usd": st.column_config.NumberColumn("Spend", format="dollar"),
        "conversions": st.column_config.NumberColumn("Orders", format="%.1f"),
        "cac_usd": st.column_config.NumberColumn("CAC", format="$%.2f"),
        "revenue_usd": st.column_config.NumberColumn("Revenue", format="dollar"),
        "roas": st.column_config.NumberColumn("ROAS", format="%.2f"),
    })  # fmt: skip
    st.plotly_chart(charts.budget_curves_figure(curves, plan.current, plan.optimal, 2 * ad_budget), key="rs_budget_curves")
    ceiling = sum(c.c_max for c in curves)
    st.caption(f"Curves: benchmark CPC / conversion rates scaled to the markets' price level; paid orders level off at "
               f"{ceiling:,.0f} a month, as many as the forecast's own in these cities (an assumption, docs/methodology.md "
               "section 13). Current = equal split.")  # fmt: skip
    st.markdown("**Targeting**: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in out["targeting"].items()))
    st.markdown("**Ad copy**")
    st.dataframe(out["narrative"]["ad_copies"], hide_index=True)
    st.markdown("**Creative briefs**\n" + "\n".join(f"- {md_escape(b)}" for b in out["narrative"]["creative_briefs"]))


def _view_supply(out: dict, _price: float) -> None:
    st.markdown(f"**Method**: {md_escape(out['method'])} - " + md_escape("; ".join(out["method_reasons"])))
    st.markdown(f"**Sourcing regions**: {', '.join(out['sourcing_regions'])} · ships from {out['origin']}")
    st.caption("Per unit, to each top country's best city, with the ranking's own shipping, duty and delivery time.")
    _ui.agent_table(out["landed_costs"], {
        "market": ("City", "text"), "country_iso2": ("Country", "text"), "distance_km": ("Distance km", "int"),
        "materials_usd": ("Materials", "money"), "labour_usd": ("Labour", "money"), "overhead_usd": ("Overhead", "money"),
        "freight_usd": ("Shipping", "money"), "duty_usd": ("Duty", "money"), "landed_cost_usd": ("Landed cost", "money"),
        "import_vat_usd": ("Import VAT (recoverable)", "money"), "transit_days": ("Delivery days", "days"),
        "total_lead_days": ("Order to customer, days", "days"),
    })  # fmt: skip
    a = out["aql"]
    st.markdown(f"**AQL (ISO 2859-1, level II)**: lot {a['lot_size']:,} -> code letter {a['code_letter']}, sample "
                f"{a['sample_size']}; AQL {a['aql']}: accept {a['accept']}, reject {a['reject']}")  # fmt: skip
    st.markdown("**QC checklist**\n" + "\n".join(f"- {md_escape(x)}" for x in out["qc_checklist"]))
    st.markdown(f"**Warehouse**: {out['warehouse']} (demand-weighted distance {out['warehouse_weighted_km']:,.0f} km)")


def _view_sales(out: dict, _price: float) -> None:
    st.caption("Per unit after every cost: unit cost, the ranking's shipping and duty, channel fees and (own shop) "
               "acquisition. A channel is recommended only when it makes money.")  # fmt: skip
    _ui.agent_table(out["channels"], {
        "country_iso2": ("Country", "text"), "city": ("City", "text"), "channel": ("Channel", "text"),
        "landed_cost_usd": ("Landed cost", "money"), "fees_usd": ("Fees", "money"),
        "acquisition_usd": ("Acquisition", "money"), "unit_margin_usd": ("Contribution / unit", "money"),
        "margin_rate": ("Margin", "pct"), "break_even_price_usd": ("Break-even price", "money"),
        "recommended": ("Recommended", "bool"),
    })  # fmt: skip
    n = out["narrative"]
    for key in ("landing_page", "upsell_downsell", "conversion_tactics", "customer_journey"):
        st.markdown(f"**{key.replace('_', ' ').capitalize()}**\n" + "\n".join(f"- {md_escape(x)}" for x in n[key]))
    st.markdown("**Email sequence**")
    st.dataframe(n["email_sequence"], hide_index=True)


_AGENT_VIEWS = {
    "product_analyst": _view_product, "market_profiler": _view_market, "advertising_planner": _view_ads,
    "supply_chain_advisor": _view_supply, "sales_strategy": _view_sales,
}  # fmt: skip


def _exports(shown, price: float, cost: float, weights: ScoreWeights) -> None:
    st.markdown("Both files reproduce exactly the ranking shown (filters and what-if values applied).")
    slug = "".join(ch if ch.isalnum() else "_" for ch in product.name)[:40] or "forecast"
    tier = user.plan if user else None
    st.download_button("Download CSV", exports.csv_bytes(shown, tier), f"{slug}_ranking.csv", "text/csv",
                       key="rs_csv", icon=":material/table:", on_click="ignore")  # fmt: skip
    meta = exports.csv_metadata(product.model_dump(mode="json"), {"price": price, "unit_cost": cost,
                                "weights": weights.model_dump()}, scope, tier.name if tier else None,
                                datetime.now(UTC))  # fmt: skip
    st.download_button("Download Excel", lambda: exports.xlsx_bytes(shown, meta, tier), f"{slug}_ranking.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="rs_xlsx",
                       icon=":material/grid_on:", on_click="ignore",
                       help="The ranking on one sheet, the parameters that produced it on a second")  # fmt: skip
    st.download_button("Download parameters (JSON)", json.dumps(meta, indent=2, ensure_ascii=False),
                       f"{slug}_ranking_parameters.json", "application/json", key="rs_meta",
                       icon=":material/data_object:", on_click="ignore",
                       help="What produced the CSV: product, price, cost, ships-from, scope, plan, date")  # fmt: skip

    def build_pdf() -> bytes:
        report = reports.ranking_report(prep, shown, _ui.agent_results(forecast_id), price=price, cost=cost,
                                        weights=weights, depth=tier.report_depth if tier else "full", scope=scope,
                                        branding=_ui.user_branding())  # fmt: skip
        return exports.pdf_bytes(report, tier)

    st.download_button("Download PDF report", build_pdf, f"{slug}_report.pdf", "application/pdf",
                       key="rs_pdf", icon=":material/picture_as_pdf:", on_click="ignore")  # fmt: skip
    if user is not None:
        _deep_reports()


def _deep_reports() -> None:
    """Buy a deep report of this forecast (any plan); paid ones are built once and downloadable again."""
    st.markdown("**Deep report**: every agent at full depth, more cities, price and ad-budget sensitivity, method "
                "and sources, on your white-label if you have it.")  # fmt: skip
    types = reports.report_types()
    c1, c2 = st.columns([3, 1])
    kind = c1.selectbox("Deep report type", list(types), key="rs_deep_type",
                        format_func=lambda k: f"{k.capitalize()} - ${types[k].price_usd:,.0f}: {types[k].description}")  # fmt: skip
    if c2.button("Buy deep report", key="rs_deep_buy"):
        try:
            info = deep_reports.create(_ui.db(), _ui.get_settings(), user, forecast_id, kind)
            if info.status == "paid":  # demo mode: paid at once
                with st.spinner("Running the agents at full depth and writing the report ..."):
                    info = _ui.build_deep_report(info.id)
        except AppError as exc:
            st.error(str(exc))
        else:
            if info.checkout_url:
                st.link_button("Continue to Stripe to pay for the report", info.checkout_url, type="primary")
                st.caption("The report is built once Stripe confirms the payment; it then appears below.")
    for info in [r for r in deep_reports.list_for(_ui.db(), user.id) if r.forecast_id == forecast_id]:
        label = f"{info.report_type.capitalize()} deep report, {info.created_at:%Y-%m-%d %H:%M} UTC"
        if info.status == "ready":
            st.download_button(f"Download {label}", lambda rid=info.id: deep_reports.pdf(_ui.db(), user.id, rid) or b"",
                               f"deep_report_{info.id[:8]}.pdf", "application/pdf", key=f"rs_deep_{info.id}",
                               icon=":material/description:", on_click="ignore")  # fmt: skip
        elif info.status == "paid" and st.button(f"Build {label} (paid)", key=f"rs_deep_build_{info.id}"):
            try:
                _ui.build_deep_report(info.id)
            except AppError as exc:
                st.error(str(exc))
            st.rerun()
        elif info.status != "paid":
            st.caption(f"{label}: {info.status.replace('_', ' ')}")


workspace()
