"""GeoNames alternate names of the cities (data/alternate_names.parquet), for matching free text."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.places.geo import haversine_km


@cache
def alternate_names() -> pd.DataFrame:
    """city_id, alt_name (folded lower-case ASCII)."""
    return pd.read_parquet(paths.ALT_NAMES_FILE)


@cache
def _index() -> dict[str, tuple[int, ...]]:
    alt = alternate_names()
    return {name: tuple(ids) for name, ids in alt.groupby("alt_name")["city_id"]}


def cities_called(folded_name: str) -> tuple[int, ...]:
    """Ids of the cities that have this (folded) alternate name ("cologne" -> Köln's id)."""
    return _index().get(folded_name, ())


# --- countries in the words people write them ----------------------------------------------
COUNTRY_LANGUAGES = ("pt", "es", "de", "fr", "it", "tr", "nl", "pl", "sv", "da", "cs", "ro", "hu", "id", "vi")
COUNTRY_ALIASES = {  # common English forms not among ISO / pycountry names
    "usa": "US",
    "u s a": "US",
    "u s": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "turkey": "TR",
    "turkiye": "TR",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "czech republic": "CZ",
    "czechia": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "ivory coast": "CI",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "laos": "LA",
    "taiwan": "TW",
    "macedonia": "MK",
    "palestine": "PS",
    "vatican": "VA",
}


@cache
def country_names() -> dict[str, str]:
    """Folded country name -> ISO2: ISO codes, ISO names (short, official, common), their translations in
    major Latin-script languages (pycountry's iso3166-1 catalogues: "Brasil", "Deutschland", "Türkiye")
    and common English forms ("USA", "UK", "Turkey")."""
    import gettext

    import pycountry

    from core.text import fold

    out: dict[str, str] = {}
    catalogues = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for lang in COUNTRY_LANGUAGES
    ]
    for c in pycountry.countries:
        names = {c.name, getattr(c, "official_name", c.name), getattr(c, "common_name", c.name)}
        names |= {t.gettext(n) for t in catalogues for n in list(names)}
        for n in names:
            out.setdefault(fold(n), c.alpha_2)
        out[c.alpha_2.lower()] = c.alpha_2
        out[c.alpha_3.lower()] = c.alpha_2
    out.update(COUNTRY_ALIASES)
    return out


DISPLAY_NAMES = {"US": "United States", "GB": "United Kingdom"}  # the source table abbreviates these two


def country_display_name(iso2: str, name: str) -> str:
    """The country name shown to people: the table's name, spelled out where it is an abbreviation."""
    return DISPLAY_NAMES.get(iso2, name)


def country_of(text: str) -> str | None:
    """ISO2 when ``text`` is a country's code or name in any of the known forms ("Turkey", "USA"), else None."""
    from core.text import fold

    return country_names().get(fold(text)) if text.strip() else None


# --- one name, two places --------------------------------------------------------------------
LANDMARK_MIN_POPULATION = 50_000  # a city big enough to tell two namesakes apart by


def display_names(frame: pd.DataFrame) -> np.ndarray:
    """Each city's name as shown to people: its name, and for namesakes in the same region of a country
    (GeoNames has two "São José" in Santa Catarina) also "near" the closest other city of at least
    LANDMARK_MIN_POPULATION people, so a list that holds both tells them apart ("São José (near Tubarão)");
    namesakes nearest to the same city are told apart by their coordinates instead."""
    raw = frame["name"].astype(str).to_numpy(object)
    names = raw.copy()
    key = (
        frame["name"].astype(str) + "|" + frame["admin1"].fillna("").astype(str) + "|" + frame["country_iso2"]
    )
    dup = key.duplicated(keep=False).to_numpy()
    twins = np.flatnonzero(dup)
    if twins.size == 0:
        return names
    iso = frame["country_iso2"].to_numpy(str)
    lat, lon = frame["lat"].to_numpy(float), frame["lon"].to_numpy(float)
    big = np.flatnonzero(frame["population"].to_numpy(float) >= LANDMARK_MIN_POPULATION)
    for i in twins:
        pool = big[(iso[big] == iso[i]) & (raw[big] != raw[i])]
        if pool.size:
            names[i] = (
                f"{raw[i]} (near {raw[pool[np.argmin(haversine_km(lat[i], lon[i], lat[pool], lon[pool]))]]})"
            )
    keys = key.to_numpy(object)
    shown = pd.Series(names[twins]) + "|" + pd.Series(keys[twins])
    for i in twins[shown.duplicated(keep=False).to_numpy()]:
        names[i] = (
            f"{raw[i]} ({abs(lat[i]):.2f}°{'N' if lat[i] >= 0 else 'S'} {abs(lon[i]):.2f}°{'E' if lon[i] >= 0 else 'W'})"
        )
    return names
