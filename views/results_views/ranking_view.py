"""Results -> Ranking: the analyst's columns first, the rest on request; a row selects the city."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from core.errors import AppError
from core.places import trends
from core.text import sentence
from views import _ui
from views.results_views.context import ResultsContext

log = logging.getLogger(__name__)

TABLE_LABELS = {  # column -> (label, shown by default): what an analyst reads first is on by default
    "rank": ("#", True),
    "city": ("City", True),
    "country_iso2": ("Country", True),
    "opportunity_score": ("Opportunity", True),
    "expected_units_month": ("Units/mo", True),
    "expected_revenue_usd_month": ("Revenue/mo", True),
    "profit_usd_month": ("Profit/mo", True),
    "loss_making": ("Loses money", True),
    "recommended_price_usd": ("Rec. price", True),
    "price_above_market": ("Costs above market", True),
    "region": ("Region", False),
    "population": ("Population", False),
    "demand_score": ("Demand", False),
    "competition_index": ("Competition", False),
    "profitability_score": ("Profitability", False),
    "expected_units_low": ("Units low", False),
    "expected_units_high": ("Units high", False),
    "good_price_low_usd": ("Good price from", False),
    "good_price_high_usd": ("Good price to", False),
    "city_id": ("GeoNames id", False),
}
CALIBRATED_COLUMNS = ["calibrated_units_month", "prior_rank"]


def _search_interest(ctx: ResultsContext, shown: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The Google Trends panel (fetch on request, shown with its date); the table gains a
    ``search_interest`` column where interest is stored for the keyword and the shown countries."""
    countries = sorted(shown["country_iso2"].unique())
    with st.expander("Search interest (Google Trends, optional)"):
        st.caption(
            "How much of each city's Google searches were for the keyword over the last 12 months, 0-100 "
            "relative to the country's top city: an intensity, not a volume, and not part of the forecast. "
            "Fetched only when you ask (needs internet); kept with its date."
        )
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        keyword = c1.text_input(
            "Keyword", value=ctx.product.name, key="rs_trend_kw", max_chars=trends.MAX_KEYWORD_CHARS
        )
        country = c2.selectbox("Country", countries, key="rs_trend_country")
        if c3.button("Fetch", key="rs_trend_fetch", icon=":material/travel_explore:"):
            try:
                with st.spinner("Asking Google Trends ..."), trends.client_from(_ui.get_settings()) as client:
                    got = trends.fetch(_ui.db(), client, ctx.ca, keyword, country)
                st.success(
                    f"Search interest stored for {got.values.size:,} cities in {country}"
                    + (f" ({len(got.unmatched)} of Google's places matched no city)" if got.unmatched else "")
                )
            except AppError as exc:
                log.warning("search trends fetch refused for %s: %s", country, exc)
                st.error(f"No search interest fetched: {exc}. The forecast does not need it.")
        try:
            signals = trends.stored_for(_ui.db(), keyword, countries)
        except AppError as exc:
            st.error(sentence(exc))
            return shown, None
        if not signals:
            st.caption("Nothing stored for this keyword in the shown countries yet.")
            return shown, None
        dates = ", ".join(f"{s.country} {s.fetched_at:%Y-%m-%d} ({s.values.size:,} cities)" for s in signals)
        st.caption(f"Stored: {dates}. Blank in the table: Google did not list the city.")
    interest = trends.combined(signals).reindex(shown["city_id"].to_numpy()).to_numpy()
    return shown.assign(search_interest=interest), dates


def render(ctx: ResultsContext, shown) -> None:
    shown, trend_dates = _search_interest(ctx, shown)
    extra = [c for c, (_label, default) in TABLE_LABELS.items() if not default]
    more = st.multiselect("More columns", extra, key="rs_more_cols", format_func=lambda c: TABLE_LABELS[c][0])
    columns = [c for c, (_label, default) in TABLE_LABELS.items() if default or c in more or c == "city_id"]
    grid = st.dataframe(
        shown[columns + [c for c in [*CALIBRATED_COLUMNS, "search_interest"] if c in shown.columns]],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="rs_table",
        height=560,
        column_config={
            "rank": st.column_config.NumberColumn("#", format="%d"),
            "city": "City",
            "region": "Region",
            "country_iso2": "Country",
            "population": st.column_config.NumberColumn("Population", format="localized"),
            "opportunity_score": st.column_config.ProgressColumn(
                "Opportunity", min_value=0, max_value=100, format="%.1f"
            ),
            "demand_score": st.column_config.NumberColumn("Demand", format="%.1f"),
            "competition_index": st.column_config.NumberColumn("Competition", format="%.1f"),
            "profitability_score": st.column_config.NumberColumn("Profitability", format="%.1f"),
            "expected_units_month": st.column_config.NumberColumn("Units/mo", format="%.1f"),
            "expected_units_low": st.column_config.NumberColumn("Units low", format="%.1f"),
            "expected_units_high": st.column_config.NumberColumn("Units high", format="%.1f"),
            "expected_revenue_usd_month": st.column_config.NumberColumn("Revenue/mo", format="dollar"),
            "profit_usd_month": st.column_config.NumberColumn(
                "Profit/mo", format="dollar", help="Before acquisition cost"
            ),
            "loss_making": st.column_config.CheckboxColumn("Loses money"),
            "recommended_price_usd": st.column_config.NumberColumn("Rec. price", format="$%.2f"),
            "calibrated_units_month": st.column_config.NumberColumn(
                "Calibrated units/mo",
                format="%.1f",
                help="Your sales' pattern on the forecast's scale (units a "
                "month); blank outside the calibration's countries",
            ),
            "prior_rank": st.column_config.NumberColumn(
                "Prior rank", format="%d", help="Rank by the open-data forecast"
            ),
            "price_above_market": st.column_config.CheckboxColumn(
                "Costs above market",
                help="Costs alone force a price above 1.5x the local price anchor: the "
                "recommended price is the cost floor, outside the market's range",
            ),
            "search_interest": st.column_config.NumberColumn(
                "Search interest",
                format="%d",
                help=f"Google Trends, 0-100 within each country; fetched {trend_dates}",
            ),
            "good_price_low_usd": st.column_config.NumberColumn(
                "Good price from", format="$%.2f", help="Prices earning 95 % of the best profit"
            ),
            "good_price_high_usd": st.column_config.NumberColumn("Good price to", format="$%.2f"),
            # the id travels with every row (selection, tests) and is shown only when asked for
            "city_id": st.column_config.NumberColumn("GeoNames id", format="%d")
            if "city_id" in more
            else None,
        },
    )
    rows = grid.selection.rows if grid is not None else []
    if rows:
        picked = int(shown.iloc[rows[0]]["city_id"])
        if picked != st.session_state.get("rs_city"):
            st.session_state["rs_city"] = picked
            st.rerun(scope="fragment")
