"""What each city feature means: label, unit, where its year and flag come from (a table)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Feature:
    column: str
    label: str
    unit: str
    flag_column: str | None  # column of the city table holding the flag; None = always measured
    year_column: str | None  # column of the countries table holding the year
    source: str


FEATURES: tuple[Feature, ...] = (
    Feature("population", "Population", "persons", "population_flag", None, "GeoNames cities15000"),
    Feature(
        "gdp_per_capita_ppp",
        "Income per capita (PPP)",
        "current intl $",
        "income_flag",
        "gdp_pc_ppp_year",
        "World Bank WDI x GDL SHDI 5.0 region ratio (BEA for US states)",
    ),
    Feature(
        "gdp_per_capita_usd",
        "Income per capita (USD)",
        "current US$",
        "income_flag",
        "gdp_pc_usd_year",
        "World Bank WDI x region ratio",
    ),
    Feature(
        "region_income_ratio",
        "Region / country income ratio",
        "ratio",
        "income_flag",
        None,
        "GDL SHDI 5.0 (2019) or BEA SAINC1 (2024); capped to [1/3, 3]",
    ),
    Feature(
        "purchasing_power_index",
        "Purchasing-power index",
        "100 = world median city dweller",
        "income_flag",
        "gdp_pc_ppp_year",
        "derived from income (docs/data.md)",
    ),
    Feature(
        "internet_users_pct",
        "Internet users",
        "% of population",
        "internet_users_pct_flag",
        "internet_users_pct_year",
        "ITU / World Bank via OWID, regional adjustment",
    ),
    Feature(
        "online_buyers_pct",
        "Online buyers",
        "% of adults 15+",
        "online_buyers_pct_flag",
        "online_buyers_pct_year",
        "World Bank Global Findex 2021 / Eurostat, regional adjustment",
    ),
    Feature(
        "urban_pct",
        "Urban population",
        "% of country population",
        "urban_pct_flag",
        "urban_pct_year",
        "World Bank WDI",
    ),
    Feature(
        "logistics_index",
        "Logistics Performance Index",
        "1 (low) - 5 (high)",
        "logistics_index_flag",
        "logistics_index_year",
        "World Bank LPI 2022",
    ),
    Feature(
        "broadband_per100",
        "Fixed broadband",
        "subscriptions per 100",
        None,
        "broadband_per100_year",
        "World Bank WDI (country)",
    ),
    Feature(
        "secure_servers_per_million",
        "Secure internet servers",
        "per million people",
        None,
        "secure_servers_per_million_year",
        "World Bank WDI (country)",
    ),
    Feature(
        "price_level_ratio",
        "Price level (PPP / FX)",
        "ratio, USA = 1",
        None,
        None,
        "World Bank WDI (country)",
    ),
    Feature("adult_pct", "Adults 15+", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"),
    Feature(
        "age_15_24_pct", "Age 15-24", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"
    ),
    Feature(
        "age_25_34_pct", "Age 25-34", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"
    ),
    Feature(
        "age_35_44_pct", "Age 35-44", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"
    ),
    Feature(
        "age_45_54_pct", "Age 45-54", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"
    ),
    Feature(
        "age_55_64_pct", "Age 55-64", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"
    ),
    Feature("age_65plus_pct", "Age 65+", "% of population", "age_flag", None, "UN WPP 2022, 2025 projection"),
)

AGE_YEAR = 2025  # WPP 2022 medium-variant projection year


def city_profile(city: pd.Series, country: pd.Series | None) -> pd.DataFrame:
    """Every feature of one city with its value, unit, year, flag and source."""
    rows = []
    for f in FEATURES:
        year: int | None = None
        if f.year_column and country is not None and f.year_column in country:
            val = country[f.year_column]
            year = int(val) if val is not None and not (isinstance(val, float) and math.isnan(val)) else None
        elif f.column.startswith("age_") or f.column == "adult_pct":
            year = AGE_YEAR
        if f.flag_column:
            flag = str(city[f.flag_column])
        else:
            cflag = country.get(f"{f.column}_flag") if country is not None else None
            flag = "imputed" if cflag == "imputed" else "inherited"
        rows.append(
            {
                "feature": f.label,
                "value": float(city[f.column]),
                "unit": f.unit,
                "year": year,
                "flag": flag,
                "source": f.source,
            }
        )
    return pd.DataFrame(rows)
