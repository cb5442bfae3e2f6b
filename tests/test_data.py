"""Sanity of the shipped city and country tables (data/*.parquet)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import paths
from core.data_build import RATIO_MAX, RATIO_MIN, build

REQUIRED = [
    "city_id", "name", "ascii_name", "country_iso2", "country_iso3", "country_name", "lat", "lon",
    "population", "gdp_per_capita_ppp", "gdp_per_capita_usd", "internet_users_pct", "online_buyers_pct",
    "urban_pct", "logistics_index", "purchasing_power_index", "adult_pct", "data_year",
    "income_flag", "online_buyers_pct_flag", "internet_users_pct_flag", "age_flag",
    "age_15_24_pct", "age_25_34_pct", "age_35_44_pct", "age_45_54_pct", "age_55_64_pct", "age_65plus_pct",
]  # fmt: skip
FLAGS = {"measured", "regional", "inherited", "imputed"}


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return pd.read_parquet(paths.CITIES_FILE)


@pytest.fixture(scope="module")
def countries() -> pd.DataFrame:
    return pd.read_parquet(paths.COUNTRIES_FILE)


def test_row_counts(cities: pd.DataFrame, countries: pd.DataFrame) -> None:
    # 34,006 GeoNames rows less 3 with population 0 (abandoned places, docs/data.md).
    assert len(cities) == 34_003
    assert cities["city_id"].is_unique
    assert len(countries) == 231
    assert countries["iso3"].is_unique


def test_no_missing_required_values(cities: pd.DataFrame) -> None:
    missing = cities[REQUIRED].isna().sum()
    assert missing.sum() == 0, missing[missing > 0].to_dict()


def test_ranges(cities: pd.DataFrame) -> None:
    assert (cities["population"] > 0).all()
    assert cities["lat"].between(-90, 90).all() and cities["lon"].between(-180, 180).all()
    pct_cols = [c for c in cities.columns if c.endswith("_pct")]
    for col in pct_cols:
        assert cities[col].between(0, 100).all(), col
    assert cities["logistics_index"].between(1, 5).all()
    assert cities["region_income_ratio"].between(RATIO_MIN, RATIO_MAX).all()
    assert (cities["gdp_per_capita_ppp"] > 0).all()
    # The age bands of adults add up to the adult share.
    bands = cities[[c for c in REQUIRED if c.startswith("age_") and c.endswith("_pct")]].sum(axis=1)
    assert np.allclose(bands, cities["adult_pct"])


def test_flags_are_known(cities: pd.DataFrame) -> None:
    for col in [c for c in cities.columns if c.endswith("_flag")]:
        assert set(cities[col].unique()) <= FLAGS, col


@pytest.mark.parametrize(
    ("name", "iso2"),
    [("Tokyo", "JP"), ("Delhi", "IN"), ("São Paulo", "BR"), ("Lagos", "NG"), ("Berlin", "DE")],
)
def test_spot_cities_present(cities: pd.DataFrame, name: str, iso2: str) -> None:
    rows = cities[(cities["name"] == name) & (cities["country_iso2"] == iso2)]
    assert len(rows) == 1
    assert rows.iloc[0]["population"] > 1_000_000


def _region_income(cities: pd.DataFrame, iso2: str, region: str) -> float:
    rows = cities[(cities["country_iso2"] == iso2) & (cities["admin1"] == region)]
    assert not rows.empty, region
    return float(rows["gdp_per_capita_ppp"].median())


def test_regional_income_orders(cities: pd.DataFrame) -> None:
    assert _region_income(cities, "BR", "Sao Paulo") > _region_income(cities, "BR", "Maranhao")
    assert _region_income(cities, "US", "Massachusetts") > _region_income(cities, "US", "Mississippi")


def test_adoption_rises_with_income_inside_a_country(cities: pd.DataFrame) -> None:
    br = cities[cities["country_iso2"] == "BR"]
    rich = br[br["admin1"] == "Sao Paulo"]["online_buyers_pct"].median()
    poor = br[br["admin1"] == "Maranhao"]["online_buyers_pct"].median()
    assert rich > poor


def test_regional_coverage(cities: pd.DataFrame) -> None:
    regional = cities["region_income_source"] != ""
    assert regional.mean() > 0.95
    assert cities.loc[regional, "population"].sum() / cities["population"].sum() > 0.95
    assert set(cities.loc[~regional, "income_flag"]) <= {"inherited", "imputed"}


def test_territories_inherit_from_sovereign(cities: pd.DataFrame) -> None:
    vatican = cities[cities["country_iso3"] == "VAT"].iloc[0]
    assert vatican["income_flag"] == "imputed"


def test_build_is_deterministic(tmp_path) -> None:
    summary = build(tmp_path)
    assert summary["cities"] == 34_003
    shipped = pd.read_parquet(paths.CITIES_FILE)
    rebuilt = pd.read_parquet(tmp_path / paths.CITIES_FILE.name)
    pd.testing.assert_frame_equal(shipped, rebuilt)
    assert json.loads((tmp_path / "build_summary.json").read_text()) == json.loads(
        (paths.DATA_DIR / "build_summary.json").read_text()
    )


def test_basemap_is_geojson() -> None:
    shapes = json.loads(paths.BASEMAP_FILE.read_text())
    assert shapes["type"] == "FeatureCollection"
    assert len(shapes["features"]) == 177
