"""Results -> Charts: top cities, demand vs competition, price curves (a city and the top N), countries."""

from __future__ import annotations

import streamlit as st

from core.forecast import positions, whatif
from core.render import charts
from views.results_views.context import ResultsContext


def render(ctx: ResultsContext, ev, shown, selected, price: float) -> None:
    most = min(100, len(shown))  # never more than the plan shows (Basic: 10)
    n = (
        most
        if most <= 5
        else st.slider("Top N for the charts", 5, most, min(20, most), 5 if most >= 10 else 1, key="rs_topn")
    )
    st.plotly_chart(charts.to_plotly(charts.top_cities_bar(shown, n)), key="rs_top_bar")
    st.plotly_chart(charts.to_plotly(charts.demand_vs_competition(shown, 200)), key="rs_bubble")
    grid = whatif.price_grid(price, float(selected["local_reference_price_usd"]))
    city_curve = whatif.price_curve(ev, positions(ev.prepared.ca, [int(selected["city_id"])]), grid)
    st.plotly_chart(
        charts.to_plotly(
            charts.price_curve_chart(
                city_curve,
                price,
                float(selected["recommended_price_usd"]),
                f"Price curve: {selected['city']}",
            )
        ),
        key="rs_curve_city",
    )
    idx = positions(ev.prepared.ca, shown.head(n)["city_id"])
    top_curve = whatif.price_curve(ev, idx, grid)
    st.plotly_chart(
        charts.to_plotly(
            charts.price_curve_chart(
                top_curve, price, whatif.best_price(top_curve), f"Price curve: top {len(idx)} cities together"
            )
        ),
        key="rs_curve_top",
    )
    st.plotly_chart(charts.to_plotly(charts.country_bar(whatif.country_summary(shown))), key="rs_country")
