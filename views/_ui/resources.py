"""Cached resources the pages share: settings, the database, the city arrays and country table, the ships-from
and country choices, the engine's prepared stage per product, money formatting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import formatting
from core.forecast import CityArrays, city_arrays
from core.places.citydata import load_city_frame
from core.places.names import country_display_name
from core.services import records
from core.settings import Settings, load_settings


@st.cache_resource
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource
def get_db(url: str) -> records.Database:
    return records.connect(url)


def db() -> records.Database:
    return get_db(get_settings().database_url)


@st.cache_resource(show_spinner="Loading 34,000 cities ...")
def get_city_arrays(url: str) -> CityArrays:
    return city_arrays(load_city_frame(get_db(url)))


def shared_cities() -> CityArrays:
    """The city table every user shares (no one's own city data)."""
    return get_city_arrays(get_settings().database_url)


def cities() -> CityArrays:
    """The signed-in user's city arrays: the shared table with their own city data, if they bought any
    (core.services.cities.for_user)."""
    from core.services.cities import for_user

    return for_user(db(), shared_cities(), st.session_state.get("user_id"))


@st.cache_resource
def get_countries(url: str) -> pd.DataFrame:
    return records.load_countries(get_db(url)).set_index("iso3")


def countries() -> pd.DataFrame:
    return get_countries(get_settings().database_url)


def money(x: float) -> str:
    return formatting.money(x)


ORIGIN_MIN_POPULATION = 100_000  # ships-from choices: every country and cities of 100k+ people


@st.cache_resource
def _origin_options(url: str) -> dict[str, str]:
    frame = get_city_arrays(url).frame
    options = {f"{label} - country": iso for iso, label in _country_labels(url).items()}
    big = frame[frame["population"] >= ORIGIN_MIN_POPULATION].sort_values("population", ascending=False)
    key = big["ascii_name"] + "|" + big["admin1"] + "|" + big["country_iso2"]
    big = big[~key.duplicated(keep=False)]
    for r in big.itertuples():
        label = f"{r.name}, {r.admin1} ({r.country_iso2})" if r.admin1 else f"{r.name} ({r.country_iso2})"
        options[label] = (
            f"{r.name}, {r.admin1}, {r.country_iso2}" if r.admin1 else f"{r.name}, {r.country_iso2}"
        )
    return options


def origin_options() -> dict[str, str]:
    """Ships-from choices: label shown -> the text the engine resolves."""
    return _origin_options(get_settings().database_url)


@st.cache_resource
def _country_labels(url: str) -> dict[str, str]:
    frame = get_city_arrays(url).frame
    raw = frame.drop_duplicates("country_iso2").set_index("country_iso2")["country_name"]
    names = {iso: country_display_name(iso, raw[iso]) for iso in raw.index}
    return {iso: f"{names[iso]} ({iso})" for iso in sorted(names, key=names.get)}


def country_labels() -> dict[str, str]:
    """ISO2 -> "Country name (ISO2)", sorted by name (computed once per process)."""
    return _country_labels(get_settings().database_url)


@st.cache_resource(max_entries=64, show_spinner=False)
def _prepared_shared(url: str, product_json: str, cities_key: tuple, _ca: CityArrays):
    from core.forecast import ProductInput, prepare

    return prepare(_ca, ProductInput.model_validate_json(product_json))


def prepared(_forecast_id: str, product, ca: CityArrays):
    """The engine's price-independent stage for the open forecast (kept for the what-if sliders).

    Shared process-wide by product and city data (a frozen, read-only object): analysts with the same
    forecast open hold one copy, not one per session (docs/performance.md, memory per session); a user's
    own city data makes its own entry. ``ca``: the arrays the page already holds (``cities()``)."""
    key = tuple(sorted(c.version for c in ca.custom.values()))
    return _prepared_shared(get_settings().database_url, product.model_dump_json(), key, ca)
