"""City search and filtering for the City Explorer and the CLI (pure)."""

from __future__ import annotations

import pandas as pd

from core.places.names import alternate_names, country_of
from core.text import fold

EXPLORER_COLUMNS = [
    "city_id",
    "name",
    "admin1",
    "country_name",
    "country_iso2",
    "population",
    "gdp_per_capita_ppp",
    "purchasing_power_index",
    "internet_users_pct",
    "online_buyers_pct",
    "income_flag",
    "online_buyers_pct_flag",
    "lat",
    "lon",
]


# How a city matched the search text, and the relevance tier of each kind: exact matches of any kind
# first (then larger cities first, so "Manhattan" finds New York City before Manhattan, Kansas), then
# prefixes, then substrings.
MATCH_RANKS = {
    "name": 0,
    "alternate name": 0,
    "district": 0,
    "name starts with": 1,
    "alternate name starts with": 1,
    "district starts with": 1,
    "name contains": 2,
    "country name contains": 2,
}
MIN_PARTIAL_CHARS = (
    3  # prefix and substring matches need this many characters ("US" is not a substring search)
)


def search_cities(
    frame: pd.DataFrame,
    query: str,
    sections: pd.DataFrame | None = None,
    countries: list[str] | None = None,
    regions: list[str] | None = None,
    min_population: float = 0.0,
) -> pd.DataFrame:
    """Cities matching free text, most relevant first: the one search of the City Explorer and
    ``python -m core cities --search``.

    A country in any known form ("Turkey", "Deutschland", "US", "USA") lists that country's cities. Otherwise
    a city matches by its name, a GeoNames alternate name ("Cologne", "Bombay") or a district folded into it
    ("Brooklyn" -> New York City): exact matches of any of these first, then prefixes, then text inside
    its name or its country's name (partial matches from ``MIN_PARTIAL_CHARS`` characters); within a tier,
    larger cities first. A city matched several ways keeps its best (first listed in ``MATCH_RANKS``). Accent- and case-insensitive. Returns ``EXPLORER_COLUMNS`` plus ``matched`` (how it matched).
    """
    mask = frame["population"] >= min_population
    if countries:
        mask &= frame["country_iso2"].isin(countries)
    if regions:
        mask &= frame["admin1"].isin(regions)
    base = frame.loc[mask]
    q = fold(query.strip())
    if not q:
        return _largest_first(base.assign(matched=""))
    if (country := country_of(query)) is not None:
        return _largest_first(base[base["country_iso2"] == country].assign(matched="country"))
    how: dict[int, str] = {}

    def mark(ids, kind: str) -> None:
        for i in ids:
            if int(i) not in how or MATCH_RANKS[kind] < MATCH_RANKS[how[int(i)]]:
                how[int(i)] = kind

    names = base["ascii_name"]
    alt = alternate_names()
    dist = sections if sections is not None and len(sections) else None
    mark(base.loc[names == q, "city_id"], "name")
    mark(alt.loc[alt["alt_name"] == q, "city_id"], "alternate name")
    if dist is not None:
        mark(dist.loc[dist["ascii_name"] == q, "parent_city_id"], "district")
    if len(q) >= MIN_PARTIAL_CHARS:
        mark(base.loc[names.str.startswith(q), "city_id"], "name starts with")
        mark(alt.loc[alt["alt_name"].str.startswith(q), "city_id"], "alternate name starts with")
        if dist is not None:
            mark(dist.loc[dist["ascii_name"].str.startswith(q), "parent_city_id"], "district starts with")
        mark(base.loc[names.str.contains(q, regex=False), "city_id"], "name contains")
        mark(
            base.loc[base["country_name"].map(fold).str.contains(q, regex=False), "city_id"],
            "country name contains",
        )
    hits = base[base["city_id"].isin(list(how))]
    kinds = hits["city_id"].map(how)
    out = hits.assign(matched=kinds, _rank=kinds.map(MATCH_RANKS))
    out = out.sort_values(["_rank", "population", "city_id"], ascending=[True, False, True])
    return out[[*EXPLORER_COLUMNS, "matched"]].reset_index(drop=True)


def _largest_first(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.sort_values(["population", "city_id"], ascending=[False, True])
    return out[[*EXPLORER_COLUMNS, "matched"]].reset_index(drop=True)
