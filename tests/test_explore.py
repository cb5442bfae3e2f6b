"""City search (core/places/explore.py): names, alternate names, districts, countries as people write them."""

from __future__ import annotations

import pandas as pd
import pytest

from core.places.explore import MATCH_RANKS, MIN_PARTIAL_CHARS, search_cities


@pytest.mark.parametrize(
    ("query", "iso2"),
    [
        ("United States", "US"),
        ("US", "US"),
        ("usa", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Turkey", "TR"),
        ("Türkiye", "TR"),
        ("Deutschland", "DE"),
        ("Brasil", "BR"),
    ],
)
def test_country_names_and_codes_select_that_country(ca, query: str, iso2: str) -> None:
    out = search_cities(ca.frame, query, ca.sections)
    assert len(out) > 20 and set(out["country_iso2"]) == {iso2}  # "US" no longer lists Cyprus or Russia


def test_city_names_still_search_by_substring(ca) -> None:
    out = search_cities(ca.frame, "sao paulo", ca.sections)
    assert "São Paulo" in set(out["name"]) and out.iloc[0]["name"] == "São Paulo"


def test_labels_spell_out_abbreviated_countries() -> None:
    from core.places.names import country_display_name

    assert country_display_name("US", "US") == "United States"
    assert country_display_name("GB", "UK") == "United Kingdom"
    assert country_display_name("DE", "Germany") == "Germany"


@pytest.mark.parametrize(
    ("query", "first", "how"),
    [
        ("Brooklyn", "New York City", "district"),
        ("Manhattan", "New York City", "alternate name"),
        ("Cologne", "Köln", "alternate name"),
        ("Bombay", "Mumbai", "alternate name"),
        ("Paris", "Paris", "name"),
        ("lond", "London", "name starts with"),
    ],
)
def test_alternate_names_and_districts_find_the_city_people_mean(
    ca, query: str, first: str, how: str
) -> None:
    """Issue 25.6: exact matches of a name, an alternate name or a district come first, larger cities first."""
    out = search_cities(ca.frame, query, ca.sections)
    assert out.iloc[0]["name"] == first and out.iloc[0]["matched"] == how


def test_search_orders_by_match_tier_then_population(ca) -> None:
    out = search_cities(ca.frame, "san", ca.sections)
    tiers = out["matched"].map(MATCH_RANKS).to_numpy()
    assert (tiers[1:] >= tiers[:-1]).all()
    for _, part in out.groupby(tiers):
        assert part["population"].is_monotonic_decreasing
    assert search_cities(ca.frame, "x" * (MIN_PARTIAL_CHARS - 1), ca.sections).empty  # no 2-letter substrings


def test_search_keeps_the_filters(ca) -> None:
    out = search_cities(ca.frame, "san", ca.sections, countries=["ES"], min_population=100_000)
    assert len(out) and set(out["country_iso2"]) == {"ES"} and (out["population"] >= 100_000).all()
    everything = search_cities(ca.frame, "", ca.sections, countries=["PT"])
    assert len(everything) == int((ca.frame["country_iso2"] == "PT").sum())


def test_namesakes_in_one_region_are_told_apart() -> None:
    """Issue 25.9: "São José, SC" twice in a list; a city's shown name says which one."""
    from core.places.names import LANDMARK_MIN_POPULATION, display_names

    big = LANDMARK_MIN_POPULATION
    frame = pd.DataFrame(
        {
            "name": ["Twin", "Twin", "North Hub", "South Hub", "Alone", "Pair", "Pair"],
            "admin1": ["R", "R", "R", "R", "R", "Q", "Q"],
            "country_iso2": ["XX"] * 7,
            "lat": [10.0, -10.0, 10.5, -10.5, 0.0, 30.0, 30.2],
            "lon": [0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0],
            "population": [20_000, 20_000, big, big, 1_000, 5_000, 5_000],
        }
    )
    shown = list(display_names(frame))
    assert shown[:2] == ["Twin (near North Hub)", "Twin (near South Hub)"]  # nearest big city, not itself
    assert shown[2:5] == ["North Hub", "South Hub", "Alone"]  # unique names stay as they are
    assert shown[5] != shown[6] and all(s.startswith("Pair (") and "°" in s for s in shown[5:])


def test_every_shown_city_name_is_unambiguous_in_its_region(ca) -> None:
    from core.forecast import city_info

    key = pd.Series(ca.labels) + "|" + pd.Series(ca.regions).fillna("") + "|" + pd.Series(ca.iso2)
    assert not key.duplicated().any()
    assert (ca.labels == ca.names).mean() > 0.99  # only namesakes change
    sao_jose = city_info(ca, [3448744, 3448742])["city"].tolist()
    assert len(set(sao_jose)) == 2 and all(s.startswith("São José (near ") for s in sao_jose)
