"""City Explorer filtering (core/places/explore.py): country names as people write them."""

from __future__ import annotations

import pytest

from core.places.explore import filter_cities


@pytest.mark.parametrize(
    ("query", "iso2"),
    [("United States", "US"), ("US", "US"), ("usa", "US"), ("United Kingdom", "GB"), ("UK", "GB"),
     ("Turkey", "TR"), ("Türkiye", "TR"), ("Deutschland", "DE"), ("Brasil", "BR")],
)  # fmt: skip
def test_country_names_and_codes_select_that_country(ca, query: str, iso2: str) -> None:
    out = filter_cities(ca.frame, query)
    assert len(out) > 20 and set(out["country_iso2"]) == {iso2}  # "US" no longer lists Cyprus or Russia


def test_city_names_still_search_by_substring(ca) -> None:
    out = filter_cities(ca.frame, "sao paulo")
    assert "São Paulo" in set(out["name"]) and out.iloc[0]["name"] == "São Paulo"


def test_labels_spell_out_abbreviated_countries() -> None:
    from core.places.names import country_display_name

    assert country_display_name("US", "US") == "United States"
    assert country_display_name("GB", "UK") == "United Kingdom"
    assert country_display_name("DE", "Germany") == "Germany"
