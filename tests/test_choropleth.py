"""Country and region choropleths: values tie to the ranking they aggregate; regions partition the country."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from core.forecast import rank_product, validate_product
from core.places import choropleth

PRODUCT = validate_product(name="Towel set", category="Home & Garden", price=25, unit_cost=10)


@pytest.fixture(scope="module")
def table(ca):
    return rank_product(ca, PRODUCT, countries=["DE", "FR", "SG"], top=600)


@pytest.mark.parametrize("measure", ["units", "revenue", "profit"])
def test_country_values_are_the_sums_of_their_cities(table, ca, measure: str) -> None:
    ch = choropleth.countries(table, ca, measure)
    col = {
        "units": "expected_units_month",
        "revenue": "expected_revenue_usd_month",
        "profit": "profit_usd_month",
    }[measure]
    counted = (
        table[~table["loss_making"]] if measure == "profit" else table
    )  # profit: as the headline counts it
    by_country = counted.groupby("country_iso2")[col].sum()
    got = ch.shapes.set_index("country_iso2")["value"]
    for iso2, value in got.items():
        assert value == pytest.approx(by_country[iso2])
    # Singapore has no 1:110m shape: its cities are counted as unmapped, not dropped silently.
    assert "SG" not in set(ch.shapes["country_iso2"])
    assert ch.unmapped_cities == int((table["country_iso2"] == "SG").sum()) > 0


def test_best_score_measure_is_the_best_city(table, ca) -> None:
    ch = choropleth.countries(table, ca, "opportunity")
    assert ch.shapes.set_index("country_iso2").loc["DE", "value"] == pytest.approx(
        table.loc[table["country_iso2"] == "DE", "opportunity_score"].max()
    )


def test_regions_partition_each_country_and_sum_to_it(table, ca) -> None:
    shown = table[table["country_iso2"].isin(["DE", "FR"])]
    regions = choropleth.regions(shown, ca, "units")
    countries = choropleth.countries(shown, ca, "units")
    assert regions.approximate and not countries.approximate
    for iso2 in ("DE", "FR"):
        part = regions.shapes[regions.shapes["country_iso2"] == iso2]
        assert part["value"].sum() == pytest.approx(
            countries.shapes.set_index("country_iso2").loc[iso2, "value"]
        )
        iso3 = ca.iso2_to_iso3[iso2]
        outline = choropleth.country_shapes().set_index("iso3").loc[iso3, "geometry"]
        mask = ca.iso2 == iso2
        every = choropleth.region_shapes(
            iso2, iso3, tuple(zip(ca.lon[mask], ca.lat[mask], ca.regions[mask], strict=True))
        )
        # every region's area together covers the country and no two overlap (planar degrees: only ratios matter)
        assert every.geometry.union_all().symmetric_difference(outline).area < 1e-6 * outline.area
        assert sum(g.area for g in every.geometry) == pytest.approx(outline.area, rel=1e-6)
        assert set(part["name"]) <= set(every["region"])
    assert {"Bavaria", "Ile-de-France"} <= set(regions.shapes["name"])


def test_regions_refuse_too_many_countries_and_unknown_measures(ca) -> None:
    wide = rank_product(ca, PRODUCT, top=3000)
    assert wide["country_iso2"].nunique() > choropleth.MAX_REGION_COUNTRIES
    with pytest.raises(InputError, match="at most"):
        choropleth.regions(wide, ca, "units")
    with pytest.raises(InputError, match="measure"):
        choropleth.countries(wide, ca, "happiness")


@given(
    st.lists(st.tuples(st.floats(-60, 70), st.floats(-179, 179)), min_size=1, max_size=40),
    st.floats(0.3, 6),
    st.integers(1, 12),
)
def test_map_labels_never_overlap_and_keep_the_best_first(points, zoom: float, n: int) -> None:
    """Issue 25.11: the labelled cities' boxes do not overlap at the first view; the best city is always
    labelled, and no more than n are."""
    from core.places.geo import mercator_px, spaced_labels

    lat, lon = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    keep = spaced_labels(lat, lon, zoom, n)
    assert keep[0] == 0 and len(keep) <= n and keep == sorted(keep)
    x, y = mercator_px(lat, lon, zoom)
    for a in keep:
        for b in keep:
            if a < b:
                assert abs(x[a] - x[b]) >= 110 or abs(y[a] - y[b]) >= 18


def test_mercator_pixels_match_web_mercator() -> None:
    from core.places.geo import mercator_px

    x, y = mercator_px(np.array([0.0, 85.0511]), np.array([0.0, -180.0]), 0)
    assert x[0] == pytest.approx(256) and y[0] == pytest.approx(256)  # the centre of the 512-pixel world
    assert x[1] == pytest.approx(0) and y[1] == pytest.approx(0, abs=0.01)
