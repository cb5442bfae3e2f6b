"""Search interest (Google Trends) as an optional demand signal beside the prior (docs/trends.md).

Fetched only when a user asks, for one keyword in one country; Google's places are matched to our
cities and the result is kept in the database with the date it was fetched, shared by all users (it is
public data). Offline, or when Google refuses, nothing is stored and the user reads why; the prior never
depends on it. As a calibration feature it enters as ln(1 + interest) with a flag for cities Google did
not list (``feature_columns``): cross-validation decides whether it helps, as for every other feature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select

from connectors.trends import TIMEFRAME
from core.accounts import as_utc
from core.db import models
from core.db.database import Database
from core.errors import InputError, external
from core.forecast import CityArrays
from core.places.geo import haversine_km
from core.places.names import cities_called
from core.text import fold

log = logging.getLogger(__name__)

NAME_RADIUS_KM = 30.0  # a city of Google's name within this distance of Google's point is that city
NEAREST_RADIUS_KM = 10.0  # otherwise the nearest city within this distance (Google's point is the centre)
MAX_KEYWORD_CHARS = 100
FEATURES = ("log_search_interest", "search_interest_listed")
NAME, NEAREST = "name", "nearest"


@dataclass(frozen=True)
class TrendSignal:
    keyword: str
    country: str
    timeframe: str
    fetched_at: datetime
    values: pd.Series  # search interest 0-100 by city_id (cities Google listed)
    unmatched: list[str]


def normalise_keyword(keyword: str) -> str:
    k = " ".join(str(keyword).split()).lower()
    if not k:
        raise InputError("enter a search keyword (e.g. the product's name)", field="keyword")
    if len(k) > MAX_KEYWORD_CHARS:
        raise InputError(
            f"the keyword is longer than {MAX_KEYWORD_CHARS} characters: shorten it", field="keyword"
        )
    return k


def match_places(points: list, ca: CityArrays, country: str) -> tuple[pd.DataFrame, list[str]]:
    """Google's places -> our cities of ``country``: a city of the same name (or alternate name) within
    NAME_RADIUS_KM of Google's point (the most populous such), else the nearest city within
    NEAREST_RADIUS_KM; without coordinates, the most populous city of that name in the country. Two places
    on one city (a district and its city) keep the name match, then the higher value. Returns
    (city_id, value, name, method) rows and the names that matched nothing."""
    inside = np.flatnonzero(ca.iso2 == country)
    if inside.size == 0:
        raise InputError(f"unknown country code {country!r}", field="country")
    folded_names = np.array([fold(str(n)) for n in ca.names[inside]])
    rows, unmatched = [], []
    for p in points:
        key = fold(p.name)
        same_name = np.isin(ca.city_id[inside], cities_called(key)) | (folded_names == key)
        pick, method = None, NAME
        if p.lat is not None and p.lon is not None:
            d = haversine_km(p.lat, p.lon, ca.lat[inside], ca.lon[inside])
            near_named = np.flatnonzero(same_name & (d <= NAME_RADIUS_KM))
            if near_named.size:
                pick = near_named[np.argmax(ca.population[inside][near_named])]
            elif d.min() <= NEAREST_RADIUS_KM:
                pick, method = int(np.argmin(d)), NEAREST
        elif same_name.any():
            named = np.flatnonzero(same_name)
            pick = named[np.argmax(ca.population[inside][named])]
        if pick is None:
            unmatched.append(p.name)
            continue
        rows.append(
            {
                "city_id": int(ca.city_id[inside][pick]),
                "value": int(p.value),
                "name": p.name,
                "method": method,
            }
        )
    frame = pd.DataFrame(rows, columns=["city_id", "value", "name", "method"])
    if not frame.empty:
        frame = (
            frame.assign(by_name=frame["method"] == NAME)
            .sort_values(["city_id", "by_name", "value"], ascending=[True, False, False])
            .drop_duplicates("city_id")
            .drop(columns="by_name")
            .reset_index(drop=True)
        )
    return frame, unmatched


def _signal(row: models.SearchTrend) -> TrendSignal:
    values = pd.Series({int(c): float(v) for c, v, _name in row.places}, dtype=float, name="search_interest")
    values.index.name = "city_id"
    return TrendSignal(
        row.keyword, row.country, row.timeframe, as_utc(row.fetched_at), values, list(row.unmatched)
    )


def stored(db: Database, keyword: str, country: str, timeframe: str = TIMEFRAME) -> TrendSignal | None:
    """The cached interest for this keyword and country, or None if never fetched."""
    with db.session() as s:
        row = s.get(models.SearchTrend, (normalise_keyword(keyword), country.upper(), timeframe))
        return _signal(row) if row else None


def stored_for(db: Database, keyword: str, countries: list[str] | None = None) -> list[TrendSignal]:
    """Every cached country for this keyword (optionally only these countries)."""
    with db.session() as s:
        stmt = select(models.SearchTrend).where(models.SearchTrend.keyword == normalise_keyword(keyword))
        if countries:
            stmt = stmt.where(models.SearchTrend.country.in_([c.upper() for c in countries]))
        return [_signal(r) for r in s.scalars(stmt.order_by(models.SearchTrend.country))]


def client_from(settings):
    """The Google Trends client for these settings (its host overridable for tests and mirrors); a context
    manager that closes its HTTP connections."""
    from connectors.trends import GoogleTrends

    return GoogleTrends(settings.google_trends_base)


def fetch(
    db: Database, client, ca: CityArrays, keyword: str, country: str, timeframe: str = TIMEFRAME
) -> TrendSignal:
    """Ask Google Trends (``client.interest_by_city``), match the places, store them with today's date.
    ExternalError (offline, refused, changed) reaches the caller; nothing is stored then."""
    key, iso = normalise_keyword(keyword), country.upper()
    with external():
        points = client.interest_by_city(key, iso, timeframe)
    matched, unmatched = match_places(points, ca, iso)
    places = [[int(r.city_id), int(r.value), str(r.name)] for r in matched.itertuples()]
    with db.session() as s:
        s.merge(
            models.SearchTrend(
                keyword=key,
                country=iso,
                timeframe=timeframe,
                fetched_at=models.utcnow(),
                places=places,
                unmatched=unmatched[:200],
            )
        )
    log.info("search trends stored: %s, %d places matched, %d unmatched", iso, len(places), len(unmatched))
    signal = stored(db, key, iso, timeframe)
    assert signal is not None
    return signal


def combined(signals: list[TrendSignal]) -> pd.Series:
    """Interest by city over several countries (each country's values are relative to its own top city)."""
    parts = [s.values for s in signals if not s.values.empty]
    return (
        pd.concat(parts).groupby(level=0).max() if parts else pd.Series(dtype=float, name="search_interest")
    )


def feature_columns(values: pd.Series, city_ids: object) -> pd.DataFrame:
    """Calibration features: ln(1 + interest) (0 where unlisted) and whether Google listed the city."""
    ids = np.asarray(city_ids, dtype=np.int64)
    v = values.reindex(ids).to_numpy(float)
    listed = np.isfinite(v)
    return pd.DataFrame(
        {FEATURES[0]: np.log1p(np.where(listed, v, 0.0)), FEATURES[1]: listed.astype(float)},
        index=pd.Index(ids, name="city_id"),
    )


def calibration_features(db: Database, keyword: str, ca: CityArrays) -> pd.DataFrame:
    """Calibration features from every country stored for ``keyword``; InputError when none is stored."""
    signals = stored_for(db, keyword)
    if not signals:
        raise InputError(
            f"no search interest is stored for {normalise_keyword(keyword)!r}: fetch it on Results -> "
            "Ranking -> Search interest (or `python -m core trends`), or leave the keyword empty",
            field="keyword",
        )
    log.info("calibration with search interest from %s", ", ".join(s.country for s in signals))
    return feature_columns(combined(signals), ca.city_id)
