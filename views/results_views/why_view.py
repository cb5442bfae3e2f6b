"""Results -> Why this score: the selected city's score terms, facts and profile."""

from __future__ import annotations

import streamlit as st

from core.forecast import custom, whatif
from core.places import climate
from core.render import charts
from views import _ui
from views.results_views.context import ResultsContext


def render(ctx: ResultsContext, row) -> None:
    st.markdown(f"#### #{int(row['rank'])} {row['city']}, {row['region']} ({row['country_iso2']})")
    s1, s2, s3, s4 = st.columns(4)
    s1.metric("Opportunity", f"{row['opportunity_score']:.1f}")
    s2.metric("Demand", f"{row['demand_score']:.1f}")
    s3.metric("Competition", f"{row['competition_index']:.1f}")
    s4.metric("Profitability", f"{row['profitability_score']:.1f}")
    parts = whatif.score_breakdown(row)
    st.plotly_chart(charts.breakdown_figure(parts), key="rs_why_chart")
    st.caption(
        "Demand terms are points relative to the median city; the other scores' terms add up to the score."
    )
    facts = {
        "Online buyers": f"{row['online_buyers']:,.0f}",
        "Spend per buyer (category, US$/yr)": f"{row['spend_per_buyer_usd_year']:,.0f}",
        "Market size (US$/month)": f"{row['market_size_usd_month']:,.0f}",
        "Local reference price": f"${row['local_reference_price_usd']:,.2f} (the category's, for demand)",
        **(
            {
                "Price anchor (recommendation bounds)": f"${row['price_anchor_usd']:,.2f}, "
                + ("your own price" if ctx.prep.anchor_source == "product" else "the category's")
                + " at the local price level"
            }
            if "price_anchor_usd" in row.index and row["price_anchor_usd"] == row["price_anchor_usd"]
            else {}
        ),
        "Age fit": f"{row['age_fit']:.2f}",
        **_your_data(ctx, row),
        **_climate_facts(ctx, row),
        "Delivery days": f"{row['delivery_days']:.1f}",
        "Shipping per unit": f"${row['shipping_cost_usd']:,.2f}, "
        + (
            "paid by the buyer on top of the price"
            if row["buyer_freight_usd"] > 0
            else "paid by you (in the unit cost)"
        ),
        "Total unit cost": f"${row['total_unit_cost_usd']:,.2f} (unit cost + shipping you pay + the card's fixed fee; "
        "duty and percentage fees come off the price, in the margin, so Supply's landed cost, which adds duty, differs)",
        "Margin": f"{100 * row['margin_rate']:.1f} %",
        "Expected units (low-high)": f"{row['expected_units_month']:,.1f} ({row['expected_units_low']:,.1f}-"
        f"{row['expected_units_high']:,.1f})",
    }
    st.dataframe({"term": list(facts), "value": list(facts.values())}, hide_index=True)
    _ui.city_detail(int(row["city_id"]))


def _your_data(ctx: ResultsContext, row) -> dict[str, str]:
    """The user's own figures behind this city (Account -> Your city data), when it has some."""
    mine = custom.your_data(ctx.ca, int(row["city_id"]))
    if mine is None:
        return {}
    facts = {f"Your data ({i + 1})": line for i, line in enumerate(mine.lines)}
    if mine.added:
        facts["Your data: added city"] = (
            "a city you added; the figures you did not give are those of its country's nearest city"
        )
    return facts


def _climate_facts(ctx: ResultsContext, row) -> dict[str, str]:
    """The city's climate and what it does to this product's demand (absent for forecasts made before)."""
    if "climate_fit" not in row.index or row["climate_fit"] != row["climate_fit"]:
        return {}
    zone = str(row.get("climate_zone") or "")
    facts = {"Climate (Köppen-Geiger)": climate.zone_names([zone])[0] if zone else "unknown"}
    if ctx.product.climate != "none":
        facts["Climate fit"] = (
            f"{row['climate_fit']:.2f} of this {ctx.product.climate}-weather product's demand where "
            "its weather lasts all year"
        )
    facts["Best months"] = str(row.get("best_months") or "all year")
    if ctx.product.launch_month:
        facts[f"{climate.MONTH_ABBR[ctx.product.launch_month - 1]} vs the average month"] = (
            f"x {row['season_factor']:.2f}"
        )
    return facts
