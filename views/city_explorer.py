"""City Explorer: search, filter and map the cities; open one city's full profile."""

from __future__ import annotations

import numpy as np
import pydeck as pdk
import streamlit as st

from core.places.explore import search_cities
from views import _ui

MAP_LIMIT = 5000  # the map draws the largest cities of the selection
TABLE_LIMIT = 10_000  # rows sent to the browser: the page stays fast with a table of a million cities

st.title("City Explorer")
ca = _ui.cities()
frame = ca.frame
st.caption(
    f"{len(frame):,} cities of 15,000+ people (GeoNames; districts such as Brooklyn are counted in their city) "
    "with income, online adoption and age data. Flags say whether a value is measured, regional, inherited "
    "from the country or imputed."
)

with st.container(horizontal=True):
    query = st.text_input("Search city or country", key="cx_query", placeholder="e.g. Sao Paulo, Germany")
    labels = _ui.country_labels()
    picked = st.multiselect("Countries", list(labels), key="cx_countries", format_func=labels.get)
    region_opts = sorted(frame.loc[frame["country_iso2"].isin(picked), "admin1"].unique()) if picked else []
    regions = st.multiselect("Regions", region_opts, key="cx_regions", disabled=not picked)
    min_pop = st.number_input("Min. population", min_value=0, value=0, step=50_000, key="cx_minpop")

table = search_cities(frame, query, ca.sections, picked, regions, float(min_pop))
st.write(
    f"**{len(table):,}** {'city matches' if len(table) == 1 else 'cities match'}"
    + (
        " (most relevant first: exact names, alternate names and districts, then partial matches)."
        if query.strip()
        else "."
    )
)
if table.empty:
    st.info("No city matches. Clear the search or lower the minimum population.")
    st.stop()

shown = table.head(MAP_LIMIT)
colors = _ui.ramp(np.log(shown["purchasing_power_index"].to_numpy()), np.log(20), np.log(400))
map_data = shown.assign(
    color=colors,
    radius=np.sqrt(shown["population"].to_numpy()) * 25,
    pop_txt=shown["population"].map("{:,.0f}".format),
    ppi_txt=shown["purchasing_power_index"].map("{:,.0f}".format),
)
layer = pdk.Layer(
    "ScatterplotLayer",
    data=map_data[["city_id", "name", "country_name", "lon", "lat", "color", "radius", "pop_txt", "ppi_txt"]],
    id="cities",
    get_position=["lon", "lat"],
    get_fill_color="color",
    get_radius="radius",
    radius_min_pixels=1.5,
    radius_max_pixels=30,
    pickable=True,
)
tooltip = {"html": "<b>{name}</b>, {country_name}<br/>Population {pop_txt}<br/>Purchasing power {ppi_txt}"}
event = st.pydeck_chart(
    _ui.deck([layer], _ui.view_for(shown["lat"].to_numpy(), shown["lon"].to_numpy()), tooltip),
    on_select="rerun",
    selection_mode="single-object",
    key="cx_map",
)
_ui.legend("Purchasing-power index (100 = world median)", "20", "400+")
if len(table) > MAP_LIMIT:
    st.caption(f"The map shows the {MAP_LIMIT:,} first of the {len(table):,} matching cities.")

picked_on_map = _ui.selected_object_id(event, "cities")
if len(table) > TABLE_LIMIT:
    st.caption(
        f"The table lists the {TABLE_LIMIT:,} first of the {len(table):,} matching cities; search or "
        "filter to reach the others."
    )
grid = st.dataframe(
    table.head(TABLE_LIMIT).drop(columns=["lat", "lon"] + ([] if query.strip() else ["matched"])),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    # A new table per filter: a row selection never carries over to another table (it selects by
    # position), so the chosen city stays the city, not the row number.
    key=f"cx_table_{abs(hash((query, tuple(picked), tuple(regions), float(min_pop))))}",
    column_config={
        "city_id": st.column_config.NumberColumn("GeoNames id", format="%d"),
        "name": "City",
        "matched": st.column_config.TextColumn(
            "Matched by",
            help="How the search text matched: the city's name, a "
            "GeoNames alternate name (Cologne, Bombay) or a district counted in "
            "the city (Brooklyn)",
        ),
        "admin1": "Region",
        "country_name": "Country",
        "country_iso2": "ISO",
        "population": st.column_config.NumberColumn("Population", format="localized"),
        "gdp_per_capita_ppp": st.column_config.NumberColumn("Income p.c. (PPP $)", format="dollar"),
        "purchasing_power_index": st.column_config.NumberColumn("Purchasing power", format="%.0f"),
        "internet_users_pct": st.column_config.NumberColumn("Internet %", format="%.1f"),
        "online_buyers_pct": st.column_config.NumberColumn("Online buyers %", format="%.1f"),
        "income_flag": "Income flag",
        "online_buyers_pct_flag": "Online buyers flag",
    },
)
rows = grid.selection.rows if grid is not None else []
if rows:
    st.session_state["city_id"] = int(table.iloc[rows[0]]["city_id"])
elif picked_on_map is not None:
    st.session_state["city_id"] = picked_on_map

city_id = st.session_state.get("city_id")
if city_id is None:
    st.info("Select a row or click a city on the map to see its full profile.")
else:
    _ui.city_detail(int(city_id))
