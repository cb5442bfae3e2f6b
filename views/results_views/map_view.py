"""Results -> Map: cities as dots (size = units, colour = opportunity), or a country / region choropleth."""

from __future__ import annotations

import numpy as np
import pydeck as pdk
import streamlit as st

from core.errors import AppError
from core.places import choropleth
from core.places.geo import spaced_labels
from core.text import ascii_label
from views import _ui
from views.results_views.context import ResultsContext

MAP_LABELS = 10  # the best cities are named on the map ...
MAP_LABEL_POOL = 30  # ... chosen among the top 30 where a better city's label would overlap


MAP_MODES = ["Cities", "Countries", "Regions (approximate borders)"]


def render(ctx: ResultsContext, shown) -> None:
    c1, c2 = st.columns([2, 2])
    mode = c1.segmented_control("Map of", MAP_MODES, key="rs_map_mode", default=MAP_MODES[0], required=True)
    if mode != MAP_MODES[0]:
        measure = c2.selectbox(
            "Measure",
            list(choropleth.MEASURES),
            key="rs_map_measure",
            format_func=lambda m: choropleth.MEASURES[m][0],
        )
        _choropleth_map(ctx, shown, mode, measure)
        return
    _city_map(shown.head(1000))


def _city_points(top, view: pdk.ViewState):
    """The shown cities as the scatter layer's rows: colour by opportunity, size by expected units, tooltip text."""
    units = top["expected_units_month"].to_numpy()
    opp = top["opportunity_score"].to_numpy()
    px = 4 + 16 * np.sqrt(
        units / max(units.max(), 1e-9)
    )  # dot size in pixels at the first view: expected units
    return top[["city_id", "city", "country_iso2", "lat", "lon"]].assign(
        color=_ui.ramp(
            opp, float(opp.min()), float(opp.max())
        ),  # the scale spans the shown cities, not 0-100
        px=px,
        # common units (deck.gl's zoom-0 pixels): a dot is ``px`` pixels at the first view wherever it is (no
        # Mercator growth towards the poles) and grows with the map when zooming in
        radius=px / 2**view.zoom,
        opp=top["opportunity_score"].map("{:.1f}".format),
        dem=top["demand_score"].map("{:.1f}".format),
        comp=top["competition_index"].map("{:.1f}".format),
        units_txt=top["expected_units_month"].map("{:,.1f}".format),
        price_txt=top["recommended_price_usd"].map("${:,.2f}".format),
        rank=top["rank"],
        loss_txt=np.where(top["loss_making"], "<br/><b>Loses money at this price and cost</b>", ""),
        line=[[200, 30, 30] if x else [255, 255, 255] for x in top["loss_making"]],
    )


def _label_layer(data, zoom: float) -> pdk.Layer:
    """The best cities named, skipping a city whose label would overlap a better one's at the first view.
    deck.gl's text layer draws ASCII glyphs: names are written without accents on the map (Koln, Sao Paulo);
    the tooltip and the tables keep the real spelling."""
    keep = spaced_labels(
        data["lat"].to_numpy()[:MAP_LABEL_POOL], data["lon"].to_numpy()[:MAP_LABEL_POOL], zoom, MAP_LABELS
    )
    ranks, names = data["rank"].iloc[keep], data["city"].iloc[keep]
    labels = data.iloc[keep].assign(
        label=[f"{r}. {ascii_label(c)}" for r, c in zip(ranks, names, strict=True)]
    )
    return pdk.Layer(
        "TextLayer",
        data=labels[["lon", "lat", "label"]],
        id="labels",
        get_position=["lon", "lat"],
        get_text="label",
        get_size=14,
        get_color=[20, 20, 20, 255],
        get_text_anchor="'start'",
        get_pixel_offset=[9, 0],
    )


# What the city map draws of each shown city: the cached map's key (a map is rebuilt only when one changes).
MAP_COLUMNS = [
    "city_id",
    "city",
    "country_iso2",
    "lat",
    "lon",
    "rank",
    "expected_units_month",
    "opportunity_score",
    "demand_score",
    "competition_index",
    "recommended_price_usd",
    "loss_making",
]


@st.cache_resource(max_entries=128, show_spinner=False)
def _city_deck(top, online_basemap: bool) -> _ui.SerialisedDeck:
    """The city map's deck written once per distinct set of shown cities and figures (Streamlit keys the
    cache on the frame's content), shared by the sessions that show the same map."""
    view = _ui.view_for(top["lat"].to_numpy(), top["lon"].to_numpy())
    data = _city_points(top, view)
    layer = pdk.Layer(  # drawn worst first, so the best cities' dots sit on top
        "ScatterplotLayer",
        data=data.iloc[::-1],
        id="results",
        get_position=["lon", "lat"],
        get_fill_color="color",
        get_radius="radius",
        radius_units="'common'",
        radius_min_pixels=2,
        pickable=True,
        stroked=True,
        get_line_color="line",
        line_width_min_pixels=1,
    )
    tooltip = {
        "html": "<b>#{rank} {city}</b> ({country_iso2})<br/>Opportunity {opp} · demand {dem} · "
        "competition {comp}<br/>Units/month {units_txt} · recommended price {price_txt}{loss_txt}"
    }
    deck = _ui.deck([layer, _label_layer(data, view.zoom)], view, tooltip)
    return _ui.SerialisedDeck(deck.to_json(), tooltip)


def _city_map(top) -> None:
    deck = _city_deck(top[MAP_COLUMNS], _ui.get_settings().online_basemap)
    event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="rs_map")
    units, opp = top["expected_units_month"], top["opportunity_score"]
    _ui.legend(
        f"Opportunity score of the shown cities (dot size: expected units, {units.min():,.1f} - "
        f"{units.max():,.1f} a month; red outline: loses money). Click a dot to open the city's "
        '"Why this score".',
        f"{opp.min():.1f}",
        f"{opp.max():.1f}",
    )
    _open_clicked_city(_ui.selected_object_id(event, "results"))


def _open_clicked_city(clicked: int | None) -> None:
    if clicked is None:  # nothing selected (a fresh map): the next click acts, even on the last city clicked
        st.session_state.pop("_rs_last_click", None)
    if clicked is not None and clicked != st.session_state.get("_rs_last_click"):
        st.session_state["_rs_last_click"] = clicked  # act on a new click only, not a kept selection
        st.session_state["rs_city"] = clicked
        st.session_state["_rs_open_detail"] = True
        st.rerun(scope="fragment")


def _choropleth_map(ctx: ResultsContext, shown, mode: str, measure: str) -> None:
    try:
        ch = (choropleth.countries if mode == MAP_MODES[1] else choropleth.regions)(shown, ctx.ca, measure)
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
    layer = pdk.Layer(
        "GeoJsonLayer",
        data=data.__geo_interface__,
        id="choropleth",
        stroked=True,
        filled=True,
        get_fill_color="properties.color",
        get_line_color=[255, 255, 255],
        line_width_min_pixels=0.5,
        pickable=True,
    )
    bounds = ch.shapes.total_bounds  # minx, miny, maxx, maxy
    view = _ui.view_for(np.array([bounds[1], bounds[3]]), np.array([bounds[0], bounds[2]]))
    tooltip = {
        "html": "<b>{name}</b> ({country_iso2})<br/>" + ch.label + ": {value_txt}<br/>{cities} ranked cities"
    }
    st.pydeck_chart(_ui.deck([layer], view, tooltip), key="rs_choropleth")
    _ui.legend(
        ch.label + (" over the shown cities" if MEASURES_SUMMED.get(measure) else ""),
        data["value_txt"].iloc[int(np.argmin(values))],
        data["value_txt"].iloc[int(np.argmax(values))],
    )
    notes = []
    if ch.approximate:
        notes.append(
            "Region borders are approximate: each region is the area closer to its own cities than to "
            "others' (Voronoi cells of every city, clipped to the country); the values are exact sums."
        )
    if ch.unmapped_cities:
        notes.append(
            f"{ch.unmapped_cities:,} shown cities lie in areas too small for the 1:110m shapes "
            "(e.g. Singapore) and are not drawn."
        )
    if notes:
        st.caption(" ".join(notes))


MEASURES_SUMMED = {m: summed for m, (_l, _c, summed) in choropleth.MEASURES.items()}
