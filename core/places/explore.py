"""Filtering the city table for the City Explorer (pure)."""

from __future__ import annotations

import pandas as pd

from core.places.names import country_of
from core.text import fold

EXPLORER_COLUMNS = [
    "city_id", "name", "admin1", "country_name", "country_iso2", "population",
    "gdp_per_capita_ppp", "purchasing_power_index", "internet_users_pct", "online_buyers_pct",
    "income_flag", "online_buyers_pct_flag", "lat", "lon",
]  # fmt: skip


def filter_cities(
    frame: pd.DataFrame,
    query: str = "",
    countries: list[str] | None = None,
    regions: list[str] | None = None,
    min_population: float = 0.0,
) -> pd.DataFrame:
    """Cities whose name or country matches ``query`` (accent- and case-insensitive), in the
    given countries (ISO2) and regions, with at least ``min_population`` people; largest first."""
    mask = frame["population"] >= min_population
    if countries:
        mask &= frame["country_iso2"].isin(countries)
    if regions:
        mask &= frame["admin1"].isin(regions)
    q = fold(query.strip())
    country = country_of(query)
    if country is not None:  # "US", "United States", "Turkey", "Deutschland": that country's cities
        mask &= frame["country_iso2"] == country
    elif q:
        mask &= frame["ascii_name"].str.contains(q, regex=False) | frame["country_name"].map(fold).str.contains(q, regex=False)
    out = frame.loc[mask, EXPLORER_COLUMNS]
    return out.sort_values(["population", "city_id"], ascending=[False, True]).reset_index(drop=True)
