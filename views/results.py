"""Results: the ranked cities of one forecast on a map, a table, charts; live what-if; exports."""

from __future__ import annotations

import streamlit as st

from core import calibration
from core.errors import AppError
from core.forecast import ScoreWeights, evaluate, rank, season, whatif
from core.services import records
from core.services.forecasts import product_from_params, result_limit, result_table, run_forecast_record
from core.text import md_escape, sentence
from views import _ui
from views.results_views import agents_view, charts_view, export_view, map_view, ranking_view, why_view
from views.results_views.context import ResultsContext

st.title("Results")
# The open forecast lives in the URL too (?forecast=<id>): a refresh, back / forward and a shared link reopen
# it; the owner check is the data layer's (someone else's id is "not yours").
forecast_id = st.query_params.get("forecast") or st.session_state.get("forecast_id")
if forecast_id:
    if st.session_state.get("forecast_id") != forecast_id:
        _ui.open_forecast(forecast_id)
    if st.query_params.get("forecast") != forecast_id:
        st.query_params["forecast"] = forecast_id
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
    st.error(sentence(exc))
    st.stop()
product = product_from_params(record.params)
scope = record.params.get("countries") or []
stored = result_table(record, ca)
prep = _ui.prepared(forecast_id, product, ca)
ctx = ResultsContext(forecast_id, ca, user, product, scope, prep, stored)

st.subheader(md_escape(product.name))
if warning := st.session_state.pop("rs_warning", None):
    st.warning(warning)
st.caption(
    f"{product.category} · price ${product.price:,.2f} · unit cost ${product.unit_cost:,.2f} · "
    f"ships from {md_escape(product.ships_from) if product.ships_from else 'each country’s largest city'} · "
    f"shipping paid by the {product.shipping_paid_by} · scope {', '.join(scope) or 'world'} · "
    f"saved {record.created_at:%Y-%m-%d %H:%M} UTC"
)
# The method notes fold away, so the headline and the map start near the top of the screen.
with st.expander("About these numbers: season, method, proxies", icon=":material/info:"):
    st.caption(
        season.describe(product.climate, product.season_months, product.launch_month),
        help=f"Read from the name and description: {product.understanding().summary()}",
    )
    notes = st.session_state.setdefault("_rs_population_note", {})  # per saved forecast: not per slider move
    if forecast_id not in notes:
        notes.clear()
        notes[forecast_id] = whatif.rests_on_population(stored)
    if follows := notes[forecast_id]:
        st.caption(
            "Inside "
            + ", ".join(f"{iso} (rank correlation {rho:.2f})" for iso, rho in follows[:5])
            + " this ranking follows city population closely: regional income moves it little there "
            '(docs/methodology.md, section 2, "Within a country").'
        )
    st.caption(
        "Expected units are a prior from open data and documented assumptions (docs/methodology.md); the "
        "competition index is a proxy. Unit costs exclude customer acquisition: the Agents view plans the ad "
        "budget, CAC and ROAS."
    )


_ui.preload_plotly()
calibrations = records.list_calibrations(
    _ui.db(), user.id if user else None
)  # read once, not per slider move


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
            saved = run_forecast_record(_ui.db(), ca, new, scope or None, user=user, on_step=status.write)
            _ui.start_agents_for(saved.id, new, scope or None, None, user, status.write)
            status.update(label="Saved", state="complete")
    except AppError as exc:
        st.error(sentence(exc))
        return
    _ui.open_forecast(saved.id, saved)  # the new forecast, with fresh what-if controls
    st.rerun()


def _what_if_controls() -> tuple[float, float, ScoreWeights | None]:
    """The what-if sliders: price, unit cost and the three score weights (None when all are zero)."""
    with st.container(border=True):
        st.markdown("**What-if**")
        c1, c2, c3, c4, c5 = st.columns(5)
        p0, u0 = product.price, product.unit_cost
        price = c1.slider(
            "Price (US$)",
            round(0.3 * p0, 2),
            round(3 * p0, 2),
            p0,
            step=max(0.01, round(p0 / 100, 2)),
            key="rs_price",
        )
        cost = c2.slider(
            "Unit cost (US$)",
            0.0,
            round(max(2 * u0, p0), 2),
            u0,
            step=max(0.01, round(p0 / 100, 2)),
            key="rs_cost",
        )
        w = product.weights
        wd = c3.slider("Weight: demand", 0.0, 1.0, w.demand, 0.05, key="rs_w_demand")
        wp = c4.slider("Weight: profitability", 0.0, 1.0, w.profitability, 0.05, key="rs_w_profit")
        wc = c5.slider("Weight: low competition", 0.0, 1.0, w.competition, 0.05, key="rs_w_comp")
    if wd + wp + wc == 0:
        st.error("Set at least one score weight above zero.")
        return price, cost, None
    weights = ScoreWeights(demand=wd, profitability=wp, competition=wc)
    nd, np_, nc = weights.normalised()
    st.caption(
        f"Weights used, normalised to 100 %: demand {nd:.0%}, profitability {np_:.0%}, low competition "
        f"{nc:.0%}. Cities with little demand are gated whatever the weights (methodology section 8)."
    )
    return price, cost, weights


def _live_bar(price: float, cost: float, weights: ScoreWeights) -> None:
    """Reset and save-as-new for what-if values that differ from the saved forecast's."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption("Recomputed live for the what-if values; the saved forecast is unchanged.")
        st.button("Reset what-if", key="rs_reset", on_click=_reset_what_if, icon=":material/restart_alt:")
        if st.button(
            "Save as a new forecast",
            key="rs_save_new",
            icon=":material/save:",
            help="Runs and saves a forecast with these values (counts against the monthly quota)",
        ):
            _save_what_if(price, cost, weights)


def _filters(table) -> tuple[list[str], list[str], float]:
    """Countries, regions and a minimum population to narrow the ranking to."""
    with st.container(horizontal=True):
        opts = sorted(table["country_iso2"].unique())
        f_countries = st.multiselect("Filter countries", opts, key="rs_countries")
        reg_opts = (
            sorted(table.loc[table["country_iso2"].isin(f_countries), "region"].unique())
            if f_countries
            else []
        )
        f_regions = st.multiselect("Filter regions", reg_opts, key="rs_regions", disabled=not f_countries)
        f_minpop = st.number_input("Min. population", min_value=0, value=0, step=50_000, key="rs_minpop")
    return f_countries, f_regions, float(f_minpop)


def _by_calibration(shown):
    """The ranking re-ordered by a saved calibration when the analyst asks (core.calibration)."""
    if not (
        calibrations
        and st.toggle(
            "Rank by calibrated predictions",
            key="rs_calibrated",
            help="Re-rank by a saved calibration on your own sales (Calibrate page)",
        )
    ):
        return shown
    cal_ids = [c["id"] for c in calibrations]
    pick = st.selectbox(
        "Calibration",
        cal_ids,
        key="rs_cal_pick",
        format_func=lambda i: next(c["name"] for c in calibrations if c["id"] == i),
    )
    cal = records.load_calibration(_ui.db(), pick, user.id if user else None)
    covered = calibration.calibration_scope(cal["predictions"], ca)
    shown = calibration.apply_calibration(shown, cal["predictions"], covered)
    others = sorted(set(shown["country_iso2"]) - set(covered))
    st.caption(
        f"Re-ordered inside {', '.join(covered)} (the countries your sales cover) by the pattern of your "
        f"{cal['measure']}; "
        + (
            f"{', '.join(others[:8])}{' ...' if len(others) > 8 else ''} keep the "
            "open-data order, and each country's cities keep the places they held. "
            if others
            else ""
        )
        + "Calibrated units / month = your sales' pattern scaled to the forecast's expected units in the "
        "covered cities of this table; Prior rank = the open-data rank."
    )
    if "prior_cv_spearman" in cal["metrics"]:
        adds, text = calibration.prior_sentence(cal["metrics"])
        if not adds:
            st.warning(text)
    return shown


def _headline(ev, shown, filters: tuple[list[str], list[str], float]) -> None:
    """Best city, totals over the weight-independent market set, and the flags a reader must see."""
    # Totals over a fixed set (the plan's number of cities with the most expected units, in scope and
    # filters): the weights reorder the ranking but never change the market the headline measures.
    market = whatif.market_cities(ev, limit, scope, *filters)
    m = whatif.headline_metrics(market)
    set_note = (
        f"the {m['cities']:,.0f} cities with the most expected units in scope and filters, at this price "
        "and cost (the same cities whatever the score weights)"
    )
    k1, k2, k3, k4, k5 = st.columns([1.7, 1, 1, 1, 1])  # room for "New York City" without "..."
    best = shown.iloc[0]
    k1.metric(
        "Best city",
        str(best["city"]),
        help=f"{best['city']}, {best['region']} ({best['country_iso2']}): "
        "first in the ranking by the weighted opportunity score",
    )
    k2.metric(
        "Units / month",
        f"{m['units']:,.0f}",
        help=f"Sum over {set_note}; 80 % "
        f"range per city summed: {m['units_low']:,.0f} - {m['units_high']:,.0f}",
    )
    k3.metric("Revenue / month", _ui.money(m["revenue"]), help=f"Sum over {set_note}")
    k4.metric(
        "Profit / month",
        _ui.money(m["profit"]),
        help=f"Sum over those of {set_note} that make money, before acquisition cost. "
        "Loss-making cities are counted apart, below.",
    )
    anchor_note = whatif.price_anchor_note(prep)
    k5.metric(
        "Best city's price",
        _ui.money(float(best["recommended_price_usd"])),
        help="Recommended price in the best city. " + anchor_note,
    )

    st.caption(f"Totals: {set_note}. {anchor_note}")
    if m["above_market_cities"]:  # the same cities as the totals and the loss count below
        st.warning(
            f"In {m['above_market_cities']:,.0f} of these {m['cities']:,.0f} cities costs alone force a price "
            "above the market range (the recommended price there is the cost floor); they are marked "
            '"Costs above market" in the ranking.'
        )
    if m["loss_cities"]:
        st.warning(
            f"{m['loss_cities']:,.0f} of these {m['cities']:,.0f} cities lose money at this price and unit "
            f"cost ({_ui.money(m['loss'])} / month, not in the profit above): unit cost, shipping, fees and duty there "
            "exceed the price. They are flagged in the ranking, the map and the exports."
        )


def _view(ev, shown, price: float, cost: float, weights: ScoreWeights) -> None:
    """One view at a time: a slider change then rebuilds only what is on screen."""
    ss = st.session_state
    if ss.get("rs_city") not in set(shown["city_id"]):
        ss["rs_city"] = int(shown.iloc[0]["city_id"])
    if ss.pop("_rs_open_detail", False):
        ss["rs_view"] = "Why this score"  # a city was clicked on the map: open its detail
    ss.setdefault("rs_view", VIEWS[0])  # set through session state only: no default beside it (no warning)
    view = st.segmented_control("View", VIEWS, key="rs_view", label_visibility="collapsed", required=True)
    selected = shown[shown["city_id"] == ss["rs_city"]].iloc[0]
    if view == "Map":
        map_view.render(ctx, shown)
    elif view == "Ranking":
        ranking_view.render(ctx, shown)
    elif view == "Why this score":
        why_view.render(ctx, selected)
    elif view == "Charts":
        charts_view.render(ctx, ev, shown, selected, price)
    elif view == "Agents":
        agents_view.render(ctx, price)
    else:
        export_view.render(ctx, shown, price, cost, weights)


@st.fragment
def workspace() -> None:
    price, cost, weights = _what_if_controls()
    if weights is None:
        return
    ev = evaluate(prep, price=price, unit_cost=cost, weights=weights)
    live = (price, cost, weights) != (product.price, product.unit_cost, product.weights)
    table = rank(ev, countries=scope, top=limit) if live else stored.head(limit)
    if live:
        _live_bar(price, cost, weights)
    if user is not None and user.plan.max_cities is not None:
        st.caption(
            f"The {user.plan.label} plan shows the top {user.plan.max_cities} cities. "
            "Upgrade on the Account page to see more."
        )
    filters = _filters(table)
    shown = _by_calibration(whatif.filter_ranking(table, *filters))
    if shown.empty:
        st.info("No city passes the filters. Clear a filter or lower the minimum population.")
        return
    _headline(ev, shown, filters)
    _view(ev, shown, price, cost, weights)


VIEWS = ["Map", "Ranking", "Why this score", "Charts", "Agents", "Export"]


workspace()
