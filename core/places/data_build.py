"""Build the shipped city and country tables from the raw open data in data/raw/.

Run with ``python -m core data build``. Every step is documented in docs/data.md; the
numbers it prints (row counts, coverage) are what that document quotes.

The build is deterministic: the same raw files give byte-identical parquet output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import paths
from core.forecast.cities import CITY_SIZE_INCOME_EXPONENT, WITHIN_COUNTRY_INCOME_SHARE
from core.places.sections import fold_sections
from core.text import fold

# Ratio of a region's income to its country's, clipped to this range (docs/data.md, "Regional
# income"). Beyond 2x (or below 1/2), GDL's regional GNI reflects where output is booked (capital regions,
# extractive enclaves: Addis Ababa 5.6, PNG's NCD 6.6) more than what residents earn and spend.
RATIO_MIN, RATIO_MAX = 0.5, 2.0
# Urban scaling: income per head rises with city size, total wages ~ N^1.12 across cities (Bettencourt
# et al. 2007, PNAS 104(17)), i.e. per head ~ N^0.12, relative to the country's population-weighted mean
# city size in its country, so the country's level is kept (CITY_SIZE_INCOME_EXPONENT, core.forecast.cities).
# Small islands the Köppen-Geiger map leaves as sea: the zone by latitude (tropical islands are rainforest,
# subtropical ones humid subtropical, the rest oceanic; an assumption for 0.5 % of cities, flagged imputed).
ISLAND_ZONES_BY_LATITUDE = ((23.44, "Af"), (40.0, "Cfa"), (90.0, "Cfb"))


# Territories with cities in GeoNames but no row in the World Bank tables: they take their
# sovereign's indicators (flag "imputed").
SOVEREIGN = {
    "ALA": "FIN",
    "VAT": "ITA",
    "SJM": "NOR",
    "CXR": "AUS",
    "CCK": "AUS",
    "NFK": "AUS",
    "NIU": "NZL",
    "MSR": "GBR",
    "SHN": "GBR",
    "PCN": "GBR",
    "FLK": "GBR",
    "SGS": "GBR",
    "ATF": "FRA",
}

AGE_BANDS = ["15_24", "25_34", "35_44", "45_54", "55_64", "65plus"]

MEASURED, REGIONAL, INHERITED, IMPUTED = "measured", "regional", "inherited", "imputed"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(paths.RAW_DIR / name, keep_default_na=False, na_values=[""])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.005, 0.995)
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@dataclass(frozen=True)
class Fit:
    """A least-squares fit y = intercept + slope * x, with its sample size and R²."""

    intercept: float
    slope: float
    n: int
    r2: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * x


def ols(x: np.ndarray, y: np.ndarray) -> Fit:
    """Ordinary least squares of y on x (one regressor), ignoring NaN pairs."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    r2 = 1 - resid.var() / y.var()
    return Fit(float(coef[0]), float(coef[1]), int(ok.sum()), float(r2))


def impute_on_income(
    frame: pd.DataFrame, col: str, transform: str = "identity", bounds: tuple[float, float] | None = None
) -> tuple[pd.Series, pd.Series, Fit]:
    """Fill a country indicator's gaps from log income, plus the UN subregion's mean residual.

    Returns the filled column, its flag column and the fit. ``transform`` is "identity" or
    "logit_pct" (a percentage, regressed on its logit).
    """
    y_raw = frame[col].to_numpy(dtype=float)
    y = _logit(y_raw / 100) if transform == "logit_pct" else y_raw
    x = np.log(frame["gdp_pc_ppp"].to_numpy(dtype=float))
    fit = ols(x, y)
    resid = pd.Series(y - fit.predict(x), index=frame.index)
    # Subregion effect, shrunk toward zero by n / (n + 3) so one neighbour does not decide it.
    grp = resid.groupby(frame["un_subregion"])
    effect = (grp.mean() * grp.count() / (grp.count() + 3)).fillna(0.0)
    pred = fit.predict(x) + frame["un_subregion"].map(effect).fillna(0.0).to_numpy()
    if transform == "logit_pct":
        pred = 100 * _expit(pred)
    if bounds:
        pred = np.clip(pred, *bounds)
    missing = np.isnan(y_raw)
    filled = pd.Series(np.where(missing, pred, y_raw), index=frame.index)
    flag = pd.Series(np.where(missing, IMPUTED, MEASURED), index=frame.index)
    return filled, flag, fit


def _income(c: pd.DataFrame, raw: pd.DataFrame, fits: dict[str, Fit]) -> None:
    # Income: PPP GDP per capita; gaps filled from GNI PPP, then from log internet use (a
    # strong cross-country correlate), then from the subregion median.
    gdp = raw["gdp_pc_ppp_current_intl"].astype(float)
    c["gdp_pc_ppp_flag"] = np.where(gdp.notna(), MEASURED, IMPUTED)
    c["gdp_pc_ppp_year"] = raw["gdp_pc_ppp_current_intl_year"]
    gdp = gdp.fillna(raw["gni_pc_ppp_current_intl"])
    net = raw["internet_users_pct"].astype(float)
    known = gdp.notna() & net.notna()
    fits["log_gdp_on_logit_internet"] = ols(
        _logit(net[known].to_numpy() / 100), np.log(gdp[known].to_numpy())
    )
    from_net = np.exp(fits["log_gdp_on_logit_internet"].predict(_logit(net.to_numpy() / 100)))
    gdp = gdp.fillna(pd.Series(from_net, index=gdp.index))
    gdp = gdp.fillna(np.exp(np.log(gdp).groupby(c["un_subregion"]).transform("median")))
    c["gdp_pc_ppp"] = gdp

    c["gdp_pc_usd_year"] = raw["gdp_pc_current_usd_year"]
    usd = raw["gdp_pc_current_usd"].astype(float)
    c["gdp_pc_usd_flag"] = np.where(usd.notna(), MEASURED, IMPUTED)
    # Missing USD income: PPP income x the subregion's median price-level ratio.
    plr = raw["price_level_ratio_ppp_to_fx"].astype(float)
    plr = plr.fillna(plr.groupby(c["un_subregion"]).transform("median")).fillna(plr.median())
    c["price_level_ratio"] = plr
    c["gdp_pc_usd"] = usd.fillna(c["gdp_pc_ppp"] * plr)


def _online_buyers(c: pd.DataFrame, fits: dict[str, Fit]) -> None:
    # Online buyers: Findex latest "bought something online" (% 15+); for EU members the
    # Eurostat last-3-month share (a lower bound of the 12-month share) where it is higher.
    fx = _read("findex_online_purchase.csv")
    fx = fx[fx["is_latest_online_purchase"] == 1].set_index("iso3")
    eu = _read("eurostat_online_buyers.csv").sort_values("year").groupby("iso3").last()
    c["online_buyers_pct"] = c["iso3"].map(fx["online_purchase_pct"]).astype(float)
    c["online_buyers_pct_year"] = c["iso3"].map(fx["year"])
    c["online_buyers_source"] = np.where(c["online_buyers_pct"].notna(), "findex", "")
    eu_val = c["iso3"].map(eu["pct_individuals_bought_online_last_3m"])
    use_eu = eu_val.notna() & ~(c["online_buyers_pct"] >= eu_val)
    c.loc[use_eu, "online_buyers_pct"] = eu_val[use_eu]
    c.loc[use_eu, "online_buyers_pct_year"] = c.loc[use_eu, "iso3"].map(eu["year"])
    c.loc[use_eu, "online_buyers_source"] = "eurostat_3m"
    # Adoption model fitted on every country with a measured share (Findex, or Eurostat where higher).
    c["online_buyers_pct"], c["online_buyers_pct_flag"], fits["online_buyers"] = impute_on_income(
        c, "online_buyers_pct", "logit_pct"
    )
    c.loc[c["online_buyers_pct_flag"] == IMPUTED, "online_buyers_source"] = "imputed"


def _other_indicators(c: pd.DataFrame, raw: pd.DataFrame, fits: dict[str, Fit]) -> None:
    """Urban share, logistics, broadband and secure servers: measured, else imputed on income."""
    for col, src, bounds in [
        ("urban_pct", "urban_pop_pct", (0.0, 100.0)),
        ("logistics_index", "lpi_overall_1to5", (1.0, 5.0)),
        ("broadband_per100", "fixed_broadband_per100", (0.0, 100.0)),
        ("secure_servers_per_million", "secure_servers_per_million", (0.0, None)),
    ]:
        c[col] = raw[src]
        c[f"{col}_year"] = raw[f"{src}_year"]
        target = c[col] if col != "secure_servers_per_million" else np.log1p(c[col])
        tmp = c.assign(_t=target)
        filled, flag, fits[col] = impute_on_income(tmp, "_t")
        if col == "secure_servers_per_million":
            filled = np.expm1(filled)
        lo, hi = bounds
        c[col] = filled.clip(lower=lo, upper=hi)
        c[f"{col}_flag"] = flag


def _age_bands(c: pd.DataFrame, raw: pd.DataFrame) -> None:
    # Age bands (% of total population, WPP 2022 medium variant for 2025); gaps take the
    # subregion's population-weighted mean.
    for band in AGE_BANDS:
        col = f"age_{band}_pct"
        c[col] = raw[f"wpp2025_pop_{band}_pct"].astype(float)
        w = c["population"].fillna(0)
        num = (c[col] * w).groupby(c["un_subregion"]).transform("sum")
        den = w.where(c[col].notna(), 0).groupby(c["un_subregion"]).transform("sum")
        c[col] = c[col].fillna(num / den.replace(0, np.nan)).fillna(c[col].median())
    c["age_flag"] = np.where(raw["wpp2025_pop_15_24_pct"].notna(), MEASURED, IMPUTED)
    c["adult_pct"] = c[[f"age_{b}_pct" for b in AGE_BANDS]].sum(axis=1)


def build_countries() -> tuple[pd.DataFrame, dict[str, Fit]]:
    """One row per ISO3 with the indicators of DESIGN §3, the year of each and a flag."""
    raw = _read("country_indicators.csv")
    c = pd.DataFrame(
        {
            "iso3": raw["iso3"],
            "iso2": raw["iso2"],
            "country_name": raw["country_name"],
            "continent": raw["continent"],
            "un_region": raw["un_region"].fillna("Unknown"),
            "un_subregion": raw["un_subregion"].fillna("Unknown"),
            "currency": raw["currency"],
            "population": raw["population"],
            "population_year": raw["population_year"],
        }
    )
    fits: dict[str, Fit] = {}
    _income(c, raw, fits)
    c["internet_users_pct_year"] = raw["internet_users_pct_year"]
    c["internet_users_pct"] = raw["internet_users_pct"]
    c["internet_users_pct"], c["internet_users_pct_flag"], fits["internet"] = impute_on_income(
        c, "internet_users_pct", "logit_pct"
    )

    _online_buyers(c, fits)
    _other_indicators(c, raw, fits)
    _age_bands(c, raw)
    return c.sort_values("iso3").reset_index(drop=True), fits


def _region_ratios(cities: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each city's region/country income ratio (capped), its source and its match method."""
    gdl = _read("city_region_income.csv").set_index("geonameid")
    bea = _read("us_state_income_bea.csv").set_index("admin1_code")
    ratio = cities["city_id"].map(gdl["region_to_country_ratio"]).astype(float)
    method = cities["city_id"].map(gdl["match_method"]).fillna("none")
    source = pd.Series(np.where(ratio.notna(), "gdl_shdi_v5", ""), index=cities.index)
    us = cities["country_iso3"].eq("USA")
    us_ratio = cities.loc[us, "admin1_code"].map(bea["ratio_to_us"]).astype(float)
    ratio.loc[us] = us_ratio
    source.loc[us] = np.where(us_ratio.notna(), "bea_sainc1_2024", "")
    method.loc[us] = np.where(us_ratio.notna(), "admin1_code", "none")
    return ratio.clip(RATIO_MIN, RATIO_MAX), source, method


def _city_frame(raw: pd.DataFrame, parent: pd.Series) -> pd.DataFrame:
    """The GeoNames columns the city table keeps, with each place's parent city (districts folded)."""
    return pd.DataFrame(
        {
            "city_id": raw["geonameid"].astype("int64"),
            "name": raw["name"],
            "ascii_name": raw["name"].map(fold),
            "country_iso2": raw["iso2"],
            "country_iso3": raw["iso3"],
            "admin1_code": raw["admin1_code"].fillna(""),
            "admin1": raw["admin1_name"].fillna(""),
            "lat": raw["lat"].astype(float),
            "lon": raw["lon"].astype(float),
            "population": raw["population"].astype(float),
            "timezone": raw["timezone"],
            "parent_city_id": parent,
        }
    ).reset_index(drop=True)


def _adoption(
    cities: pd.DataFrame,
    ctry: pd.DataFrame,
    fits: dict[str, Fit],
    territory: np.ndarray,
    ratio: pd.Series,
    has_ratio: pd.Series,
) -> None:
    """Internet use and online buying per city, with their flags."""
    # Adoption inside a country: shift the country's measured share along the cross-country logit-income
    # slope, by the city's size factor and by a damped share (WITHIN_COUNTRY_INCOME_SHARE) of the region's
    # log income ratio: a cross-country slope is not a within-country one (docs/data.md, "Regional adoption";
    # docs/methodology.md section 2).
    log_ratio = WITHIN_COUNTRY_INCOME_SHARE * np.log(ratio.to_numpy()) + np.log(
        cities["city_size_factor"].to_numpy()
    )
    for col, fit_key in [("internet_users_pct", "internet"), ("online_buyers_pct", "online_buyers")]:
        base = _logit(ctry[col].to_numpy() / 100)
        cities[col] = 100 * _expit(base + fits[fit_key].slope * log_ratio)
        cflag = np.where(territory, IMPUTED, ctry[f"{col}_flag"])
        cities[f"{col}_flag"] = np.where(cflag == IMPUTED, IMPUTED, np.where(has_ratio, REGIONAL, INHERITED))


def _purchasing_power_index(cities: pd.DataFrame) -> pd.Series:
    # Purchasing-power index: city PPP income against the population-weighted world median
    # city income (100 = the median city dweller in the dataset).
    top = cities["parent_city_id"].isna().to_numpy()
    order = np.argsort(cities["gdp_per_capita_ppp"].to_numpy()[top])
    inc = cities["gdp_per_capita_ppp"].to_numpy()[top][order]
    cum = np.cumsum(cities["population"].to_numpy()[top][order])
    median_income = float(inc[np.searchsorted(cum, cum[-1] / 2)])
    return 100 * cities["gdp_per_capita_ppp"] / median_income


def build_cities(countries: pd.DataFrame, fits: dict[str, Fit]) -> pd.DataFrame:
    """One row per GeoNames place with the features of DESIGN §3, each with its flag.

    Districts folded into their city keep a row (so stored results that name them stay valid) with
    ``parent_city_id`` set; the engine, maps and totals use only rows without a parent.
    """
    raw = _read("world_cities_15000.csv")
    raw = raw[raw["population"] > 0].reset_index(drop=True)  # GeoNames lists abandoned places at 0
    parent = fold_sections(raw, countries.set_index("iso3")["population"])
    cities = _city_frame(raw, parent)
    cities["sections_folded"] = cities["city_id"].map(parent.value_counts()).fillna(0).astype("int64")
    lookup_iso3 = cities["country_iso3"].map(lambda k: SOVEREIGN.get(k, k))
    ctry = countries.set_index("iso3").loc[lookup_iso3].reset_index(drop=True)
    territory = cities["country_iso3"].isin(SOVEREIGN.keys()).to_numpy()
    names = countries.set_index("iso3")["country_name"]
    cities["country_name"] = (
        cities["country_iso3"].map(names).fillna(raw["country_name"].reset_index(drop=True))
    )

    ratio, ratio_source, ratio_method = _region_ratios(cities)
    has_ratio = ratio.notna()
    ratio = ratio.fillna(1.0)
    cities["region_income_ratio"] = ratio
    cities["region_income_source"] = ratio_source
    cities["region_match_method"] = ratio_method
    cities["gdp_per_capita_ppp"] = ctry["gdp_pc_ppp"] * ratio
    cities["gdp_per_capita_usd"] = ctry["gdp_pc_usd"] * ratio
    # Urban scaling is a model term, kept apart from the sourced regional income (docs/methodology.md):
    # it raises spend (in the engine) and adoption (here) in bigger cities.
    cities["city_size_factor"] = city_size_factor(cities)
    country_income_flag = np.where(territory, IMPUTED, ctry["gdp_pc_ppp_flag"])
    cities["income_flag"] = np.where(
        country_income_flag == IMPUTED, IMPUTED, np.where(has_ratio, REGIONAL, INHERITED)
    )

    _adoption(cities, ctry, fits, territory, ratio, has_ratio)
    cities["online_buyers_source"] = ctry["online_buyers_source"]

    for col in [
        "urban_pct",
        "logistics_index",
        "broadband_per100",
        "secure_servers_per_million",
        "price_level_ratio",
        "adult_pct",
    ] + [f"age_{b}_pct" for b in AGE_BANDS]:
        cities[col] = ctry[col].to_numpy()
    for col in ["urban_pct", "logistics_index"]:
        cities[f"{col}_flag"] = np.where(territory | (ctry[f"{col}_flag"] == IMPUTED), IMPUTED, INHERITED)
    cities["age_flag"] = np.where(territory | (ctry["age_flag"] == IMPUTED), IMPUTED, INHERITED)
    cities["koppen_zone"], cities["koppen_flag"] = koppen_zones(raw["geonameid"], cities["lat"])

    cities["purchasing_power_index"] = _purchasing_power_index(cities)
    cities["data_year"] = ctry["gdp_pc_ppp_year"].fillna(0).astype(int).to_numpy()
    cities["population_flag"] = MEASURED
    return cities


def koppen_zones(geonameid: pd.Series, lat: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each city's Köppen-Geiger zone from data/raw/city_koppen.csv (data/scripts/extract_koppen.py) and its
    flag: "measured" (the map's pixel, or the nearest land within about 150 km for a coastal city whose
    coordinates fall offshore) or "imputed" for small islands the map does not resolve, by latitude
    (``ISLAND_ZONES_BY_LATITUDE``: an assumption, docs/data.md)."""
    kg = _read("city_koppen.csv").set_index("geonameid")
    zone = geonameid.map(kg["koppen_zone"]).fillna("Ocean").to_numpy(object)
    missing = zone == "Ocean"
    abs_lat = np.abs(lat.to_numpy(float))
    for max_lat, island_zone in ISLAND_ZONES_BY_LATITUDE:
        pick = missing & (abs_lat <= max_lat)
        zone[pick] = island_zone
        missing &= ~pick
    flag = np.where(
        geonameid.map(kg["koppen_zone"]).fillna("Ocean").to_numpy(object) == "Ocean", IMPUTED, MEASURED
    )
    return zone.astype(str), flag


def city_size_factor(cities: pd.DataFrame) -> np.ndarray:
    """(population / the country's population-weighted geometric-mean city size) ^ 0.12.

    Districts (rows with a parent) take their parent's factor and do not count in the mean.
    """
    top = cities["parent_city_id"].isna().to_numpy()
    pop = cities["population"].to_numpy(float)
    logp = pd.Series(np.log(pop) * pop * top, index=cities.index)
    w = pd.Series(pop * top, index=cities.index)
    grp = cities["country_iso3"]
    mean_log = (logp.groupby(grp).transform("sum") / w.groupby(grp).transform("sum")).to_numpy()
    factor = pd.Series(
        np.exp(CITY_SIZE_INCOME_EXPONENT * (np.log(pop) - mean_log)), index=cities["city_id"].to_numpy()
    )
    own = factor.to_numpy()
    parent_ids = cities["parent_city_id"].to_numpy(dtype=float, na_value=np.nan)
    return np.where(top, own, factor.reindex(parent_ids).to_numpy())


def build_alternate_names(cities: pd.DataFrame) -> pd.DataFrame:
    """Folded GeoNames alternate names per city (for matching users' city names), without the
    names that fold to the city's own name."""
    raw = pd.read_csv(paths.RAW_DIR / "city_alternate_names.csv.gz", keep_default_na=False)
    alt = pd.DataFrame({"city_id": raw["geonameid"].astype("int64"), "alt_name": raw["name"].map(fold)})
    alt = alt[alt["city_id"].isin(cities["city_id"])].drop_duplicates()
    own = alt["city_id"].map(cities.set_index("city_id")["ascii_name"])
    return alt[alt["alt_name"] != own].sort_values(["city_id", "alt_name"]).reset_index(drop=True)


def basemap_geojson() -> dict:
    """The Natural Earth shapes, read with geopandas, with only the columns the map needs."""
    import geopandas as gpd

    gdf = gpd.read_file(paths.RAW_DIR / "ne_110m_admin0_countries.geojson")
    gdf = gdf[["iso3", "NAME", "geometry"]].rename(columns={"NAME": "name"})
    return json.loads(gdf.to_json(drop_id=True))


def build(out_dir: Path | None = None) -> dict[str, float]:
    """Build countries.parquet, cities.parquet and the basemap; return summary figures."""
    out = out_dir or paths.DATA_DIR
    countries, fits = build_countries()
    cities = build_cities(countries, fits)
    countries.to_parquet(out / paths.COUNTRIES_FILE.name, index=False)
    cities.to_parquet(out / paths.CITIES_FILE.name, index=False)
    build_alternate_names(cities).to_parquet(out / paths.ALT_NAMES_FILE.name, index=False)
    basemap_dir = paths.STATIC_DIR if out_dir is None else out
    (basemap_dir / paths.BASEMAP_FILE.name).write_text(json.dumps(basemap_geojson(), separators=(",", ":")))
    cities = cities[cities["parent_city_id"].isna()]
    regional = cities["region_income_source"] != ""
    summary = {
        "countries": len(countries),
        "cities": len(cities),
        "sections_folded": int(cities["sections_folded"].sum()),
        "regional_income_share_cities": float(regional.mean()),
        "regional_income_share_population": float(
            cities.loc[regional, "population"].sum() / cities["population"].sum()
        ),
    }
    for key, fit in fits.items():
        summary[f"fit_{key}_slope"] = fit.slope
        summary[f"fit_{key}_r2"] = fit.r2
        summary[f"fit_{key}_n"] = fit.n
    (out / "build_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
