"""A user's own city data (the "Custom city data" add-on, docs/methodology.md "Your own city data"): figures that
override a city's (population, income per head, online buyers, local price level), or a city GeoNames
lacks, laid over the shared city arrays for that user's forecasts only. Part of the engine (core.forecast):
pure, no database; the purchase and the stored rows are core.billing.custom_cities.

A user's figure enters the same method as the sourced one it replaces: income per head becomes the city's
regional income (its ratio to the country's level damped as every city's is), a new population rescales
the urban-scaling factor by CITY_SIZE_INCOME_EXPONENT, and a new city takes every figure it is not given
from the nearest city of its country (flagged as inherited, so its uncertainty band is wider). The
product-independent medians, the world's age mix, the reference income and each country's fulfilment hub
stay those of the shared table, so the other cities' figures move only by the one city's weight in the
product's own medians and quantiles (a relative change under 0.1 %, tests/test_custom_cities.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InputError
from core.forecast.cities import CITY_SIZE_INCOME_EXPONENT, CityArrays, city_arrays, match_city, positions
from core.places.geo import haversine_km
from core.text import fold

# A city the user adds gets this id plus its stored row's id: far above GeoNames' ids (under 13 million).
CUSTOM_CITY_ID_BASE = 9_000_000_000
USER_FLAG = "user"  # the flag a user's figure carries in the city table (as "measured" / "imputed" do)


@dataclass(frozen=True)
class Figure:
    """A figure a user may set: the city-table column it replaces, its unit and the values accepted."""

    column: str
    label: str
    unit: str
    low: float
    high: float


FIGURES: dict[str, Figure] = {
    "population": Figure("population", "Population", "people", 1, 40_000_000),
    "income_ppp": Figure(
        "gdp_per_capita_ppp", "Income per head", "US$ a year at purchasing-power parity", 100, 300_000
    ),
    "online_buyers_pct": Figure("online_buyers_pct", "Online buyers", "% of adults", 0, 100),
    "price_level": Figure("price_level_ratio", "Local price level", "ratio to US prices (US = 1)", 0.05, 5),
}
SOURCE_MAX_CHARS = 300
NAME_MAX_CHARS = 120
MAX_KM_FROM_COUNTRY = 500  # a city the user adds lies at most this far from one of its country's cities


@dataclass(frozen=True)
class CustomCity:
    """One city's figures from a user. ``city_id`` is the GeoNames city overridden, or
    CUSTOM_CITY_ID_BASE + the row id for a city the user adds (then name, country and position are set)."""

    id: str  # the stored row's id
    city_id: int
    values: Mapping[str, float]
    sources: Mapping[str, str]
    name: str | None = None
    country_iso2: str | None = None
    lat: float | None = None
    lon: float | None = None
    version: str = ""  # changes whenever the stored figures change (cache keys)

    @property
    def is_new(self) -> bool:
        return self.city_id >= CUSTOM_CITY_ID_BASE

    def describe(self) -> list[str]:
        """One line per figure: "Population: 1,250,000 people (source: ...)"."""
        return [
            f"{FIGURES[k].label}: {format_value(v)} {FIGURES[k].unit} (source: {self.sources.get(k, '')})"
            for k, v in self.values.items()
        ]


def format_value(v: float) -> str:
    """A figure as people read it: whole numbers with thousands separators, others to 2 decimals."""
    return f"{v:,.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:,.2f}"


def describe_figures(values: Mapping[str, float], sources: Mapping[str, str]) -> str:
    """ "Population 3,000,000 (IBGE 2025); Online buyers 62.50 (survey)": the figures with their sources."""
    return "; ".join(
        f"{FIGURES[k].label} {format_value(v)} ({sources.get(k, '')})" for k, v in values.items()
    )


def check_figures(values: Mapping[str, float | None], sources: Mapping[str, str | None]) -> dict[str, float]:
    """The figures given (None = keep the table's), each within its range and with a source note.

    InputError naming the field and what to fix; at least one figure is required."""
    out: dict[str, float] = {}
    for key, raw in values.items():
        if key not in FIGURES:
            raise InputError(f"unknown city figure {key!r}; use one of {', '.join(FIGURES)}", field=key)
        if raw is None:
            continue
        fig = FIGURES[key]
        v = float(raw)
        if not math.isfinite(v) or not fig.low <= v <= fig.high:
            raise InputError(
                f"{fig.label.lower()} must be between {format_value(fig.low)} and {format_value(fig.high)} ({fig.unit})",
                field=key,
            )
        note = (sources.get(key) or "").strip()
        if not note:
            raise InputError(
                f"say where the {fig.label.lower()} comes from (a source note, e.g. 'city statistics office, "
                "2025')",
                field=f"{key}_source",
            )
        if len(note) > SOURCE_MAX_CHARS:
            raise InputError(
                f"the source note for {fig.label.lower()} is longer than {SOURCE_MAX_CHARS} characters",
                field=f"{key}_source",
            )
        out[key] = v
    if not out:
        raise InputError("give at least one figure for the city", field="figures")
    return out


def check_new_city(ca: CityArrays, name: str, country_iso2: str, lat: float, lon: float) -> tuple[str, str]:
    """A city the user adds: a name, a country of the table and a position inside that country's reach
    (at most MAX_KM_FROM_COUNTRY from one of its cities). Returns (name, ISO2)."""
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX_CHARS:
        raise InputError(f"give the city's name (1-{NAME_MAX_CHARS} characters)", field="name")
    iso = (country_iso2 or "").strip().upper()
    if iso not in set(ca.iso2.tolist()):
        raise InputError(
            f"unknown country code {country_iso2!r}; use an ISO code like BR or DE", field="country"
        )
    if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180):
        raise InputError("latitude must be within -90..90 and longitude within -180..180", field="lat")
    if _nearest_km(ca, iso, lat, lon)[1] > MAX_KM_FROM_COUNTRY:
        raise InputError(
            f"that position is more than {MAX_KM_FROM_COUNTRY:,} km from every city of {iso}; check the "
            "latitude and longitude (decimal degrees, south and west negative)",
            field="lat",
        )
    return name, iso


def _nearest_km(ca: CityArrays, iso2: str, lat: float, lon: float) -> tuple[int, float]:
    """Position in the arrays of the country's city nearest a point, and its distance in km."""
    pool = np.flatnonzero(ca.iso2 == iso2)
    d = haversine_km(lat, lon, ca.lat[pool], ca.lon[pool])
    i = int(np.argmin(d))
    return int(pool[i]), float(d[i])


def find_city(ca: CityArrays, text: str) -> int:
    """The GeoNames id of the city written as "City, CC" or "City, Region, CC" (the ships-from matcher's
    rules: one matcher for place names); InputError when unknown or ambiguous."""
    if not text or "," not in text:
        raise InputError("write the city as 'City, CC' (e.g. 'Campinas, BR')", field="city")
    return match_city(text, ca, field="city")


def apply(ca: CityArrays, customs: Sequence[CustomCity]) -> CityArrays:
    """The city arrays with a user's figures laid over (``ca`` itself when there are none)."""
    if not customs:
        return ca
    frame = ca.frame.copy()
    frame = pd.concat([frame, _new_rows(ca, [c for c in customs if c.is_new])], ignore_index=True)
    frame = frame.sort_values("city_id").reset_index(drop=True)
    pos = pd.Series(np.arange(len(frame)), index=frame["city_id"].to_numpy())
    for c in customs:
        if c.city_id not in pos.index:
            raise InputError(f"city {c.city_id} of your city data is not in the city table", field="city")
        _set_figures(frame, int(pos[c.city_id]), c.values)
    out = city_arrays(pd.concat([frame, ca.sections], ignore_index=True))
    hubs = pd.DataFrame({"iso2": ca.iso2, "lat": ca.hub_lat, "lon": ca.hub_lon}).drop_duplicates("iso2")
    hub = hubs.set_index("iso2")
    return dataclasses.replace(
        out,
        hub_lat=pd.Series(out.iso2).map(hub["lat"]).to_numpy(float),
        hub_lon=pd.Series(out.iso2).map(hub["lon"]).to_numpy(float),
        reference_income=ca.reference_income,
        medians=dict(ca.medians),
        world_age_shares=ca.world_age_shares,
        custom={c.city_id: c for c in customs},
        origin_cache={},
    )


def _new_rows(ca: CityArrays, new: Sequence[CustomCity]) -> pd.DataFrame:
    """Rows for cities the user adds: the nearest city of the country's row, renamed and moved, its
    figures flagged as inherited (the user's own figures are set afterwards)."""
    rows = []
    for c in new:
        if c.country_iso2 is None or c.lat is None or c.lon is None or not c.name:
            raise InputError("a city you add needs a name, a country and its position", field="city")
        near, _km = _nearest_km(ca, c.country_iso2, c.lat, c.lon)
        r = ca.frame.iloc[near].copy()
        r["city_id"], r["name"], r["ascii_name"] = c.city_id, c.name, fold(c.name)
        r["lat"], r["lon"] = c.lat, c.lon
        if "parent_city_id" in r.index:
            r["parent_city_id"] = np.nan
        if "sections_folded" in r.index:
            r["sections_folded"] = 0
        for col in ("income_flag", "population_flag", "age_flag"):  # adoption keeps the neighbour's own flag
            if col in r.index:
                r[col] = "inherited"
        if "region_match_method" in r.index:
            r["region_match_method"] = f"inherited from {ca.names[near]} (nearest city)"
        rows.append(r)
    return pd.DataFrame(rows, columns=ca.frame.columns)


def _set_figures(frame: pd.DataFrame, i: int, values: Mapping[str, float]) -> None:
    """Write a user's figures into row ``i`` the way the data build would have derived the columns."""
    at = frame.index[i]
    if "population" in values:
        old = float(frame.at[at, "population"])
        new = float(values["population"])
        if "city_size_factor" in frame:
            frame.at[at, "city_size_factor"] = float(frame.at[at, "city_size_factor"]) * (new / old) ** (
                CITY_SIZE_INCOME_EXPONENT
            )
        frame.at[at, "population"] = new
        _flag(frame, at, "population_flag")
    if "income_ppp" in values:
        ratio = float(frame.at[at, "region_income_ratio"]) if "region_income_ratio" in frame else 1.0
        country_level = float(frame.at[at, "gdp_per_capita_ppp"]) / ratio
        frame.at[at, "gdp_per_capita_ppp"] = float(values["income_ppp"])
        if "region_income_ratio" in frame:
            frame.at[at, "region_income_ratio"] = float(values["income_ppp"]) / country_level
        _flag(frame, at, "income_flag")
    if "online_buyers_pct" in values:
        frame.at[at, "online_buyers_pct"] = float(values["online_buyers_pct"])
        _flag(frame, at, "online_buyers_pct_flag")
    if "price_level" in values:
        frame.at[at, "price_level_ratio"] = float(values["price_level"])


def _flag(frame: pd.DataFrame, at, col: str) -> None:
    if col in frame:
        frame.at[at, col] = USER_FLAG


@dataclass(frozen=True)
class YourData:
    """What the Why-this-score view and exports say of a city carrying the user's figures."""

    city_id: int
    added: bool
    lines: list[str] = field(default_factory=list)


def your_data(ca: CityArrays, city_id: int) -> YourData | None:
    """The user's figures behind a city of these arrays, or None when it has none."""
    c = ca.custom.get(int(city_id))
    if c is None:
        return None
    return YourData(c.city_id, c.is_new, c.describe())


def report_lines(ca: CityArrays, city_ids) -> list[str]:
    """For reports: one line per listed city that carries the user's own figures, with their sources."""
    shown = {int(i) for i in city_ids}
    return [
        f"Your own data for {c.name or ca.labels[positions(ca, [c.city_id])[0]]}"
        + (" (a city you added; other figures from its nearest city)" if c.is_new else "")
        + f": {describe_figures(c.values, c.sources)}."
        for c in ca.custom.values()
        if c.city_id in shown
    ]


__all__ = [
    "CUSTOM_CITY_ID_BASE",
    "FIGURES",
    "CustomCity",
    "YourData",
    "apply",
    "check_figures",
    "check_new_city",
    "describe_figures",
    "find_city",
    "format_value",
    "report_lines",
    "your_data",
]
