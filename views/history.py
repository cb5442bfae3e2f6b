"""History: the user's past forecasts; reopen, delete, compare two side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import AppError
from core.forecast import whatif
from core.render import charts
from core.services import records
from core.services.forecasts import result_table
from core.text import sentence
from views import _ui

st.title("History")
user = _ui.current_user_id()
items = records.list_forecasts(_ui.db(), user)
if not items:
    st.info("No forecasts yet. Run your first one on New forecast.")
    st.page_link("views/new_forecast.py", label="New forecast", icon=":material/add_chart:")
    st.stop()

names = _ui.cities().frame.set_index("city_id")["name"]
overview = pd.DataFrame(
    {
        "created (UTC)": [i.created_at.strftime("%Y-%m-%d %H:%M") for i in items],
        "product": [i.product_name for i in items],
        "category": [i.category for i in items],
        "price": [i.price for i in items],
        "unit cost": [i.unit_cost for i in items],
        "scope": [", ".join(i.countries) or "world" for i in items],
        "best city": [names.get(i.top_city_id, "-") if i.top_city_id else "-" for i in items],
        "cities stored": [i.n_results for i in items],
    }
)
st.dataframe(
    overview,
    hide_index=True,
    column_config={
        "price": st.column_config.NumberColumn(format="$%.2f"),
        "unit cost": st.column_config.NumberColumn(format="$%.2f"),
    },
)

labels = {
    i.id: f"{i.created_at:%Y-%m-%d %H:%M} · {i.product_name} ({', '.join(i.countries) or 'world'})"
    for i in items
}
ids = list(labels)

st.subheader("Open or delete")
chosen = st.selectbox("Forecast", ids, format_func=labels.get, key="hi_pick")
c1, c2 = st.columns(2)
if c1.button("Open in Results", type="primary", icon=":material/open_in_new:", key="hi_open"):
    _ui.open_forecast(chosen)
    st.switch_page("views/results.py")
confirm = c2.checkbox("Yes, delete it", key="hi_confirm")
if c2.button("Delete", icon=":material/delete:", key="hi_delete", disabled=not confirm):
    try:
        records.delete_forecast(_ui.db(), chosen, user)
    except AppError as exc:
        st.error(sentence(exc))
    else:
        if st.session_state.get("forecast_id") == chosen:
            st.session_state.pop("forecast_id")
        st.session_state.pop("hi_confirm", None)
        st.toast("Forecast deleted")
        st.rerun()

st.subheader("Compare two forecasts")
if len(ids) < 2:
    st.info("Run a second forecast to compare rankings side by side.")
else:
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("A", ids, index=1, format_func=labels.get, key="hi_a")
    b = b_col.selectbox("B", ids, index=0, format_func=labels.get, key="hi_b")
    ca = _ui.cities()
    try:
        rec_a, rec_b = records.load_forecast(_ui.db(), a, user), records.load_forecast(_ui.db(), b, user)
        ta, tb = result_table(rec_a, ca), result_table(rec_b, ca)
    except AppError as exc:
        st.error(sentence(exc))
    else:
        diffs = whatif.input_differences(rec_a.params, rec_b.params)
        st.markdown("**What differs between A and B**")
        if diffs:
            st.dataframe(diffs, hide_index=True, column_config={"input": "Input"})
        else:
            st.caption("The two forecasts have the same inputs.")
        cmp = whatif.compare_rankings(ta, tb, top=25)
        st.plotly_chart(charts.to_plotly(charts.rank_change_bar(cmp)), key="hi_rank_chart")
        st.caption(
            "The table lists the cities in the top 25 of either forecast; the chart those of them ranked in "
            "both. Rank change > 0 means the city ranks higher in B."
        )
        st.dataframe(
            cmp,
            hide_index=True,
            column_config={
                "city_id": None,
                "city": "City",
                "country_iso2": "Country",
                "rank_a": st.column_config.NumberColumn("Rank A", format="%d"),
                "rank_b": st.column_config.NumberColumn("Rank B", format="%d"),
                "opportunity_a": st.column_config.NumberColumn("Opportunity A", format="%.1f"),
                "opportunity_b": st.column_config.NumberColumn("Opportunity B", format="%.1f"),
                "units_a": st.column_config.NumberColumn("Units A", format="%.1f"),
                "units_b": st.column_config.NumberColumn("Units B", format="%.1f"),
                "rank_change": st.column_config.NumberColumn("Rank change", format="%+d"),
            },
        )
