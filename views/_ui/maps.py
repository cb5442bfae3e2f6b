"""Maps: the offline basemap, colour ramps and legends, the compact pydeck Deck, the view that fits a set of\ncities, the clicked city and the city detail panel."""

from __future__ import annotations

import json

import numpy as np
import pydeck as pdk
import streamlit as st

from core import paths
from views._ui.resources import cities, countries, get_settings


def basemap_layer() -> pdk.Layer:
    """Country shapes from the bundled Natural Earth file, which the browser loads from this
    app's own static route (not re-sent with every rerun): the offline basemap."""
    return pdk.Layer(
        "GeoJsonLayer",
        data=paths.BASEMAP_URL,
        id="basemap",
        stroked=True,
        filled=True,
        get_fill_color=[228, 233, 240],
        get_line_color=[160, 170, 185],
        line_width_min_pixels=0.5,
        pickable=False,
    )


def ramp(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> list[list[int]]:
    """Map values onto a light-yellow to dark-blue colour ramp (RGBA lists)."""
    v = np.asarray(values, float)
    lo = float(np.nanmin(v)) if lo is None else lo
    hi = float(np.nanmax(v)) if hi is None else hi
    t = np.clip((v - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(v)
    start, end = np.array([255, 214, 102]), np.array([15, 76, 129])
    rgb = (start + (end - start) * t[:, None]).round().astype(int)
    return [[*row, 210] for row in rgb.tolist()]


def legend(label: str, lo: str, hi: str) -> None:
    st.markdown(
        f"<div style='display:flex;align-items:center;gap:8px;font-size:0.85em'>"
        f"<span>{label}: {lo}</span>"
        f"<span style='width:140px;height:10px;background:linear-gradient(90deg,#FFD666,#0F4C81)'></span>"
        f"<span>{hi}</span></div>",
        unsafe_allow_html=True,
    )


class CompactDeck(pdk.Deck):
    """pydeck's Deck serialised compactly: pydeck writes its JSON indented (Python's pure-Python encoder) and
    sorted; the same content without indentation goes through the C encoder, 3-4x faster and half the bytes
    for a map of 1,000 cities (measured: 46 -> 13 ms, 621 -> 298 kB), on every rerun that redraws a map."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, default=default_serialize, separators=(",", ":"))


class SerialisedDeck:
    """A deck already written as JSON, kept between runs: what ``st.pydeck_chart`` reads of a ``pydeck.Deck``
    (its JSON, its tooltip, its layers, which are already in the JSON). A map whose cities, sizes and colours
    have not changed (the same forecast, price and filters: a view switch, a reopened tab, another session)
    is then not rebuilt and re-serialised (~80 ms for 1,000 cities under load, docs/performance.md)."""

    layers: tuple = ()
    width = None
    mapbox_key = None

    def __init__(self, spec: str, tooltip: dict | None) -> None:
        self._spec, self._tooltip = spec, tooltip

    def to_json(self) -> str:
        return self._spec


def deck(layers: list[pdk.Layer], view: pdk.ViewState, tooltip: dict | None) -> pdk.Deck:
    """A deck with the offline basemap (or Carto's, when ONLINE_BASEMAP is set)."""
    if get_settings().online_basemap:
        return CompactDeck(layers=layers, initial_view_state=view, tooltip=tooltip, map_style="light")
    return CompactDeck(
        layers=[basemap_layer(), *layers], initial_view_state=view, tooltip=tooltip, map_provider=None
    )


def view_for(lat: np.ndarray, lon: np.ndarray) -> pdk.ViewState:
    """A view that frames the given points."""
    if len(lat) == 0:
        return pdk.ViewState(latitude=20, longitude=10, zoom=0.6)
    lat_span = float(np.ptp(lat)) if len(lat) > 1 else 5.0
    lon_span = float(np.ptp(lon)) if len(lon) > 1 else 5.0
    span = max(lat_span * 1.3, lon_span / 2 * 1.3, 2.0)  # a margin so edge cities are not cut
    zoom = float(np.clip(np.log2(180 / span), 0.3, 9))
    # The middle of the bounding box, not the mean: every shown city is inside the first view.
    mid_lat = (float(np.min(lat)) + float(np.max(lat))) / 2
    mid_lon = (float(np.min(lon)) + float(np.max(lon))) / 2
    return pdk.ViewState(latitude=mid_lat, longitude=mid_lon, zoom=zoom)


def selected_object_id(event: object, layer_id: str, key: str = "city_id") -> int | None:
    """The id of the object clicked on a pydeck chart, if any."""
    try:
        objects = event.selection["objects"].get(layer_id, [])  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    return int(objects[0][key]) if objects else None


def city_detail(city_id: int) -> None:
    """The full profile of one city: every feature with unit, year, flag and source."""
    from core.forecast.features import city_profile
    from core.places.climate import climate_line

    frame = cities().frame
    match = frame[frame["city_id"] == city_id]
    if match.empty:
        st.warning(f"City {city_id} is not in the database.")
        return
    city = match.iloc[0]
    ctry = countries()
    country = ctry.loc[city["country_iso3"]] if city["country_iso3"] in ctry.index else None
    st.subheader(f"{city['name']}, {city['admin1'] or '-'}, {city['country_name']}")
    st.caption(
        f"GeoNames id {city_id} · {city['lat']:.3f}, {city['lon']:.3f} · "
        f"regional income match: {city['region_match_method']} ({city['region_income_source'] or 'none'})"
    )
    folded = cities().sections
    parts = folded.loc[folded["parent_city_id"] == city_id, "name"].tolist()
    if parts:
        st.caption(
            f"Includes {len(parts)} district(s) GeoNames lists separately, counted here once: "
            + ", ".join(parts[:8])
            + (" ..." if len(parts) > 8 else "")
        )
    if str(city.get("koppen_zone") or ""):
        st.caption(climate_line(city))
    profile = city_profile(city, country)
    profile["year"] = profile["year"].astype("Float64")  # a missing year shows blank, not "None"
    # precision people read: whole numbers from 1,000 up (111,816 people, not 111,815.514), else 2 decimals
    profile["value"] = [round(v, 0 if abs(v) >= 1000 else 2) for v in profile["value"]]
    st.dataframe(
        profile,
        hide_index=True,
        column_config={
            "feature": "Feature",
            "unit": "Unit",
            "flag": "Flag",
            "source": "Source",
            "value": st.column_config.NumberColumn("Value", format="localized"),
            "year": st.column_config.NumberColumn("Year", format="%d"),
        },
    )
