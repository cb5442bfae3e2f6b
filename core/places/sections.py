"""One row per city: GeoNames lists the districts of large cities (and the cities of city-regions) as places of\ntheir own; each is folded into its parent city when it lies within the parent's reach (docs/data.md, "One row\nper city")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import paths
from core.text import fold

# One row per city (docs/data.md, "One row per city"): districts listed beside their city are folded.
SECTION_DENSITY = 5000.0  # persons per km²: the area a parent's population occupies sets its reach


PARENT_MIN_POP = 500_000  # only cities this large have districts listed separately in GeoNames


CITY_REGION_SHARE = 0.5  # a parent holding half its region's (or country's) listed people is a city-region


SECTION_MAX_SHARE = 0.5  # a section is at most half its parent (except in a city-state)


CITY_REGION_REACH = 3.0  # a city-region or city-state reaches 3x its radius ...


CITY_REGION_EXTRA_KM = 25.0  # ... but no more than 25 km beyond it


CAPITAL_DISTRICT_WORDS = ("federal district", "capital district", "capital territory", "distrito federal")


def _feature_codes() -> pd.DataFrame:
    codes = pd.read_csv(paths.RAW_DIR / "city_feature_codes.csv.gz", keep_default_na=False, dtype=str)
    return codes.assign(geonameid=codes["geonameid"].astype("int64")).set_index("geonameid")


def fold_sections(raw: pd.DataFrame, country_population: pd.Series) -> pd.Series:
    """The parent city of every GeoNames place that is a district of a bigger city (else NA).

    ``raw`` has geonameid, name, iso2, iso3, admin1_code, lat, lon, population; ``country_population``
    is indexed by ISO3. The rule (docs/data.md, "One row per city"), for parents of 500,000+ people
    taken from the largest down (a city-region holds half its region's listed people or is a federal /
    capital district; a city-state half its country's): a place is a section of parent A when it is in A's country and
    admin-1 region (anywhere in the country for a city-state), within A's reach, smaller than A, not a
    capital or regional seat, at most half A's size, not kept separate by
    data/city_sections_overrides.csv, and not a separate municipality (a different GeoNames admin-2
    code, unless GeoNames calls it a section of a populated place, PPLX: their admin-2 codes are unreliable,
    Jardim Paulista in São Paulo carries Guarulhos' code). In a city-state every place within reach folds. The overrides file also folds
    places the rule cannot see (Mexico City's alcaldías carry their own admin-2 code).
    """
    from core.places.geo import haversine_km

    codes = _feature_codes()
    overrides = pd.read_csv(paths.DATA_DIR / "city_sections_overrides.csv")
    keep = set(overrides.loc[overrides["action"] == "keep", "city_id"])
    ids = raw["geonameid"].to_numpy(np.int64)
    pop = raw["population"].to_numpy(float)
    lat, lon = raw["lat"].to_numpy(float), raw["lon"].to_numpy(float)
    iso = raw["iso3"].to_numpy(str)
    adm = raw["admin1_code"].fillna("").astype(str).to_numpy()
    a2 = raw["geonameid"].map(codes["admin2_code"]).fillna("").to_numpy(str)
    fcode = raw["geonameid"].map(codes["feature_code"]).fillna("").to_numpy(str)
    capital_district = (
        raw["admin1_name"].fillna("").map(fold).str.contains("|".join(CAPITAL_DISTRICT_WORDS)).to_numpy()
    )
    region_pop = (
        raw.groupby(["iso3", raw["admin1_code"].fillna("")])["population"].transform("sum").to_numpy()
    )
    nat_pop = raw["iso3"].map(country_population).fillna(0).to_numpy(float)
    parent = np.full(len(raw), -1, dtype=np.int64)
    seat = np.isin(fcode, ["PPLC", "PPLA"])  # capitals and regional seats are cities in their own right
    for a in np.argsort(-pop, kind="stable"):
        if pop[a] < PARENT_MIN_POP:
            break
        if parent[a] >= 0:
            continue
        city_state = nat_pop[a] > 0 and pop[a] >= CITY_REGION_SHARE * nat_pop[a]
        city_region = city_state or capital_district[a] or pop[a] >= CITY_REGION_SHARE * region_pop[a]
        radius = np.sqrt(pop[a] / (np.pi * SECTION_DENSITY))
        reach = min(CITY_REGION_REACH * radius, radius + CITY_REGION_EXTRA_KM) if city_region else radius
        cand = (iso == iso[a]) & (parent < 0) & (pop < pop[a]) & ~np.isin(ids, list(keep))
        cand[a] = False
        if not city_state:
            cand &= (adm == adm[a]) & (pop <= SECTION_MAX_SHARE * pop[a]) & ~seat
            if a2[a]:  # a section of a populated place (PPLX) is part of the city whatever admin-2 it carries
                cand &= (a2 == "") | (a2 == a2[a]) | (fcode == "PPLX")
        idx = np.flatnonzero(cand)
        dist = haversine_km(lat[a], lon[a], lat[idx], lon[idx])
        near = idx[dist <= reach][np.argsort(dist[dist <= reach], kind="stable")]
        parent[near] = ids[a]
    for row in overrides[overrides["action"] == "fold"].itertuples():
        parent[ids == row.city_id] = int(row.parent_id)
        parent[parent == row.city_id] = int(row.parent_id)  # its own districts follow it: one level only
    return pd.Series(np.where(parent >= 0, parent, pd.NA), index=raw.index, dtype="Int64")
