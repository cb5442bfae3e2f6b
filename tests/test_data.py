"""Sanity of the shipped city and country tables (data/*.parquet)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import paths
from core.places.data_build import RATIO_MAX, RATIO_MIN, build

REQUIRED = [
    "city_id",
    "name",
    "ascii_name",
    "country_iso2",
    "country_iso3",
    "country_name",
    "lat",
    "lon",
    "population",
    "gdp_per_capita_ppp",
    "gdp_per_capita_usd",
    "internet_users_pct",
    "online_buyers_pct",
    "urban_pct",
    "logistics_index",
    "purchasing_power_index",
    "adult_pct",
    "data_year",
    "income_flag",
    "online_buyers_pct_flag",
    "internet_users_pct_flag",
    "age_flag",
    "age_15_24_pct",
    "age_25_34_pct",
    "age_35_44_pct",
    "age_45_54_pct",
    "age_55_64_pct",
    "age_65plus_pct",
]
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
    shipped_rows = pd.read_parquet(paths.CITIES_FILE)
    assert summary["cities"] == int(shipped_rows["parent_city_id"].isna().sum())
    assert summary["sections_folded"] == int(shipped_rows["parent_city_id"].notna().sum())
    shipped = pd.read_parquet(paths.CITIES_FILE)
    rebuilt = pd.read_parquet(tmp_path / paths.CITIES_FILE.name)
    pd.testing.assert_frame_equal(shipped, rebuilt)
    # the same figures, to the last few bits of a float (least-squares fits may differ in the 16th digit)
    assert json.loads((tmp_path / "build_summary.json").read_text()) == pytest.approx(
        json.loads((paths.DATA_DIR / "build_summary.json").read_text()), rel=1e-12
    )


def test_basemap_is_geojson() -> None:
    shapes = json.loads(paths.BASEMAP_FILE.read_text())
    assert shapes["type"] == "FeatureCollection"
    assert len(shapes["features"]) == 177


# --- one row per city: districts folded into the city that contains them ---------------------
def _parent_of(cities: pd.DataFrame, name: str, iso2: str) -> str | None:
    row = cities[(cities["name"] == name) & (cities["country_iso2"] == iso2)].iloc[0]
    if pd.isna(row["parent_city_id"]):
        return None
    return str(cities.loc[cities["city_id"] == row["parent_city_id"], "name"].iloc[0])


@pytest.mark.parametrize(
    ("name", "iso2", "parent"),
    [
        ("Brooklyn", "US", "New York City"),
        ("Queens", "US", "New York City"),
        ("Manhattan", "US", "New York City"),
        ("The Bronx", "US", "New York City"),
        ("Staten Island", "US", "New York City"),
        ("Esenyurt", "TR", "Istanbul"),
        ("Küçükçekmece", "TR", "Istanbul"),
        ("Bağcılar", "TR", "Istanbul"),
        ("Şişli", "TR", "Istanbul"),
        ("Kowloon", "HK", "Hong Kong"),
        ("New Territories", "HK", "Hong Kong"),
        ("Hong Kong Island", "HK", "Hong Kong"),
        ("Ceilândia", "BR", "Brasília"),
        ("Iztapalapa", "MX", "Mexico City"),
        ("Puxi", "CN", "Shanghai"),
        ("Jardim Paulista", "BR", "São Paulo"),  # PPLX with another municipality's admin-2 code
        ("Parelheiros", "BR", "São Paulo"),  # overrides file: a district beyond the radius
        ("Point Cook", "AU", "Melbourne"),  # a suburb (PPLX) in its own local government area
        # separate municipalities next to a big city stay separate
        ("Pest", "HU", "Budapest"),
        ("Guarulhos", "BR", None),
        ("Osasco", "BR", None),
        ("Navi Mumbai", "IN", None),
        ("Thāne", "IN", None),
        ("Newark", "US", None),
        ("Yonkers", "US", None),
        ("Giza", "EG", None),
        ("Foshan", "CN", None),
        ("Kawasaki", "JP", None),
        ("Incheon", "KR", None),
    ],
)
def test_districts_fold_into_their_city(
    cities: pd.DataFrame, name: str, iso2: str, parent: str | None
) -> None:
    assert _parent_of(cities, name, iso2) == parent


def test_city_states_are_one_city(cities: pd.DataFrame) -> None:
    for iso2, capital in (("SG", "Singapore"), ("HK", "Hong Kong")):
        rows = cities[cities["country_iso2"] == iso2]
        top = rows[rows["parent_city_id"].isna()]
        assert list(top["name"]) == [capital]
        assert int(top["sections_folded"].iloc[0]) == len(rows) - 1


def test_fold_is_one_level_and_counts_match(cities: pd.DataFrame) -> None:
    sections = cities[cities["parent_city_id"].notna()]
    parents = cities.set_index("city_id").loc[sections["parent_city_id"].astype("int64")]
    assert parents["parent_city_id"].isna().all()  # a parent is never itself a district
    assert (parents["population"].to_numpy() > sections["population"].to_numpy()).all()
    counts = sections["parent_city_id"].value_counts()
    top = cities[cities["parent_city_id"].isna()].set_index("city_id")["sections_folded"]
    assert top.sum() == len(sections)
    assert (top.loc[counts.index.astype("int64")].to_numpy() == counts.to_numpy()).all()


def test_overrides_file_is_applied(cities: pd.DataFrame) -> None:
    overrides = pd.read_csv(paths.DATA_DIR / "city_sections_overrides.csv")
    by_id = cities.set_index("city_id")["parent_city_id"]
    for row in overrides.itertuples():
        if row.action == "keep":
            assert pd.isna(by_id[row.city_id]), row.name
        else:
            assert by_id[row.city_id] == row.parent_id, row.name


def test_city_size_factor_keeps_each_countrys_level(cities: pd.DataFrame) -> None:
    from core.places.data_build import CITY_SIZE_INCOME_EXPONENT

    top = cities[cities["parent_city_id"].isna()]
    # population-weighted mean of log factor is zero in every country
    mean_log = (np.log(top["city_size_factor"]) * top["population"]).groupby(top["country_iso3"]).sum()
    assert np.allclose(mean_log, 0, atol=1e-6 * top["population"].sum())
    br = top[top["country_iso2"] == "BR"].set_index("name")
    ratio = br.loc["São Paulo", "city_size_factor"] / br.loc["Guarulhos", "city_size_factor"]
    expected = (
        br.loc["São Paulo", "population"] / br.loc["Guarulhos", "population"]
    ) ** CITY_SIZE_INCOME_EXPONENT
    assert ratio == pytest.approx(expected)


def test_a_section_folds_whatever_admin2_code_it_carries() -> None:
    """The rule itself (not the shipped table): a GeoNames section of a populated place (PPLX) folds into the
    big city it lies in even with another municipality's admin-2 code (Jardim Paulista carries Guarulhos');
    a populated place (PPL) with its own admin-2 code is a separate municipality and stays (Guarulhos)."""
    from core.places.sections import fold_sections

    raw = pd.DataFrame(
        {
            "geonameid": [3448439, 7615262, 3461786],  # São Paulo (PPLA), Jardim Paulista (PPLX), Guarulhos
            "name": ["São Paulo", "Jardim Paulista", "Guarulhos"],
            "iso2": ["BR"] * 3,
            "iso3": ["BRA"] * 3,
            "admin1_code": ["27"] * 3,
            "admin1_name": ["Sao Paulo"] * 3,
            "lat": [-23.5475, -23.56675, -23.46278],
            "lon": [-46.63611, -46.66439, -46.53333],
            "population": [12_400_232.0, 83_667.0, 1_169_577.0],
        }
    )
    parent = fold_sections(raw, pd.Series({"BRA": 212_000_000.0}))
    assert parent.iloc[1] == 3448439
    assert pd.isna(parent.iloc[0]) and pd.isna(parent.iloc[2])
