"""Country and region choropleths of a ranking (geopandas over the shapes the app ships).

Countries: Natural Earth 1:110m (static/countries_110m.geojson; countries too small for that scale,
such as Singapore, have no shape and are counted apart). Regions: no admin-1 boundaries are shipped,
so a region's area is **approximated** by the Voronoi cells of its cities (every city of the country,
not only the ranked ones), clipped to the country's outline and merged per region. The borders are
therefore indicative; the values are exact sums over the ranked cities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from core import paths
from core.errors import InputError
from core.forecast import CityArrays
from core.forecast.whatif import area_totals

MEASURES = {  # measure -> (label, column of core.whatif.area_totals, a sum over the area's cities?)
    "units": ("Expected units / month", "expected_units_month", True),
    "revenue": ("Revenue / month (US$)", "expected_revenue_usd_month", True),
    "profit": ("Profit / month (US$, cities that make money)", "profit_usd_month", True),
    "opportunity": ("Best opportunity score", "best_opportunity_score", False),
}
MAX_REGION_COUNTRIES = 12  # region shapes are built per country on first use; more would be slow


@dataclass(frozen=True)
class Choropleth:
    shapes: gpd.GeoDataFrame  # one row per area with a value: name, value, cities, geometry
    measure: str
    label: str
    unmapped_cities: int  # ranked cities whose area has no shape at this scale
    approximate: bool  # region borders from Voronoi cells


@cache
def country_shapes() -> gpd.GeoDataFrame:
    return gpd.read_file(paths.BASEMAP_FILE)[["iso3", "name", "geometry"]]


def _aggregate(table: pd.DataFrame, keys: list[str], measure: str) -> pd.DataFrame:
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}", field="measure")
    totals = area_totals(table, keys)
    return totals[[*keys, "cities"]].assign(value=totals[MEASURES[measure][1]])


def countries(table: pd.DataFrame, ca: CityArrays, measure: str) -> Choropleth:
    """One area per country of the ranking: the measure summed (or its best city's score)."""
    agg = _aggregate(table, ["country_iso2"], measure)
    agg["iso3"] = agg["country_iso2"].map(ca.iso2_to_iso3)
    shapes = country_shapes().merge(agg, on="iso3", how="inner")
    unmapped = int(agg.loc[~agg["iso3"].isin(shapes["iso3"]), "cities"].sum())
    return Choropleth(
        shapes[["name", "country_iso2", "value", "cities", "geometry"]],
        measure,
        MEASURES[measure][0],
        unmapped,
        approximate=False,
    )


@cache
def region_shapes(iso2: str, iso3: str, points: tuple[tuple[float, float, str], ...]) -> gpd.GeoDataFrame:
    """Approximate admin-1 areas of one country: Voronoi cells of its cities, clipped, merged per region."""
    outline = country_shapes().loc[country_shapes()["iso3"] == iso3, "geometry"]
    if outline.empty or len(points) == 0:
        return gpd.GeoDataFrame({"region": [], "geometry": []}, geometry="geometry", crs="EPSG:4326")
    country = shapely.union_all(outline.to_numpy())
    lon, lat, region = (np.array(v) for v in zip(*points, strict=True))
    if len(points) == 1:
        return gpd.GeoDataFrame(
            {"region": [region[0]], "geometry": [country]}, geometry="geometry", crs="EPSG:4326"
        )
    cells = shapely.voronoi_polygons(
        shapely.multipoints(np.column_stack([lon, lat])), extend_to=country.envelope.buffer(5)
    )
    cells = np.asarray(shapely.get_parts(cells))
    # Voronoi output is unordered: assign each cell to the city inside it.
    tree = shapely.STRtree(shapely.points(lon, lat))
    cell_idx, city_idx = tree.query(cells, predicate="contains")
    frame = gpd.GeoDataFrame(
        {"region": region[city_idx]}, geometry=shapely.intersection(cells[cell_idx], country), crs="EPSG:4326"
    )
    return frame.dissolve(by="region", as_index=False)


def regions(table: pd.DataFrame, ca: CityArrays, measure: str) -> Choropleth:
    """One area per region (admin-1) of the ranking's countries, borders approximated (module doc)."""
    present = list(dict.fromkeys(table["country_iso2"]))
    if len(present) > MAX_REGION_COUNTRIES:
        raise InputError(
            f"regions are drawn for at most {MAX_REGION_COUNTRIES} countries; filter the ranking "
            f"to fewer countries (it has {len(present)}) or use the country view",
            field="countries",
        )
    agg = _aggregate(table, ["country_iso2", "region"], measure)
    parts = []
    for iso2 in present:
        mask = ca.iso2 == iso2
        pts = tuple(zip(np.round(ca.lon[mask], 4), np.round(ca.lat[mask], 4), ca.regions[mask], strict=True))
        shp = region_shapes(iso2, ca.iso2_to_iso3.get(iso2, ""), pts)
        parts.append(shp.assign(country_iso2=iso2))
    shapes = (
        pd.concat(parts, ignore_index=True)
        if parts
        else gpd.GeoDataFrame(columns=["region", "country_iso2", "geometry"])
    )
    shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs="EPSG:4326").merge(
        agg, on=["country_iso2", "region"]
    )
    mapped = set(zip(shapes["country_iso2"], shapes["region"], strict=True))
    unmapped = int(
        agg.loc[
            [(c, r) not in mapped for c, r in zip(agg["country_iso2"], agg["region"], strict=True)], "cities"
        ].sum()
    )
    shapes = shapes.rename(columns={"region": "name"})
    return Choropleth(
        shapes[["name", "country_iso2", "value", "cities", "geometry"]],
        measure,
        MEASURES[measure][0],
        unmapped,
        approximate=True,
    )
