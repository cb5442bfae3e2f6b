"""Custom city data: a user's own figures for a city, bought per city (CUSTOM_CITY_USD, Stripe Checkout in
payment mode; demo mode completes at once) and stored for that user only. The figures' rules and how they
enter a forecast are the engine's (core.forecast.custom); this module owns the purchase and the rows.

A city is paid for once: changing the figures of a city already bought costs nothing; removing it ends its
use in new forecasts (forecasts already made keep the rows they stored).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.accounts import UserInfo, as_utc
from core.accounts.tiers import CUSTOM_CITY_USD
from core.billing import subscriptions as billing
from core.billing.checkout import apply_one_off_payment, one_off_session, register_checkout_handler
from core.db import models
from core.db.database import Database
from core.errors import AccessError, InputError
from core.forecast import CityArrays
from core.forecast import custom as engine
from core.settings import Settings
from core.text import is_record_id

log = logging.getLogger(__name__)

MAX_PER_USER = 200  # cities with the user's own figures, per account


@dataclass(frozen=True)
class CityRequest:
    """What a user asks for: an existing city ("City, CC") or a new one (name, country, position), and the
    figures with their source notes (None = keep the table's)."""

    figures: dict[str, float | None]
    sources: dict[str, str | None]
    city: str | None = None
    name: str | None = None
    country_iso2: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class CustomCityInfo:
    id: str
    city_id: int
    city: str  # as shown: "Campinas, São Paulo, BR" or the name the user gave (added)
    added: bool
    figures: dict[str, float]
    sources: dict[str, str]
    status: str  # pending_payment | active
    price_usd: float
    created_at: datetime
    checkout_url: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "city_id": self.city_id,
            "city": self.city,
            "added": self.added,
            "figures": self.figures,
            "sources": self.sources,
            "status": self.status,
            "price_usd": self.price_usd,
            "created_at": self.created_at.isoformat(),
            "checkout_url": self.checkout_url,
        }


def _label(r: models.CustomCity, ca: CityArrays | None) -> str:
    if r.name:
        return f"{r.name}, {r.country_iso2} (added)"
    if ca is not None and r.city_id in ca.city_id:
        i = int(ca.city_id.searchsorted(r.city_id))
        return f"{ca.labels[i]}, {ca.regions[i] or '-'}, {ca.iso2[i]}"
    return f"city {r.city_id}"


def _info(r: models.CustomCity, ca: CityArrays | None = None, url: str | None = None) -> CustomCityInfo:
    return CustomCityInfo(
        r.id,
        int(r.city_id),
        _label(r, ca),
        r.name is not None,
        dict(r.figures),
        dict(r.sources),
        r.status,
        r.price_paid,
        as_utc(r.created_at),
        url,
    )


def _resolve(ca: CityArrays, req: CityRequest) -> tuple[int | None, dict]:
    """(GeoNames id or None for a new city, the new city's columns), checked."""
    if req.city and req.name:
        raise InputError("either name an existing city or add a new one, not both", field="city")
    if req.city:
        return engine.find_city(ca, req.city), {}
    if req.lat is None or req.lon is None:
        raise InputError("a city you add needs its latitude and longitude", field="lat")
    name, iso = engine.check_new_city(ca, req.name or "", req.country_iso2 or "", req.lat, req.lon)
    return None, {"name": name, "country_iso2": iso, "lat": float(req.lat), "lon": float(req.lon)}


def save(
    db: Database, settings: Settings, user: UserInfo, ca: CityArrays, req: CityRequest
) -> CustomCityInfo:
    """Add or change the user's figures for a city. A city not yet bought starts a Checkout (its URL in the
    answer) or, in demo mode, is active at once; a city already bought is updated at no charge."""
    figures = engine.check_figures(req.figures, req.sources)
    sources = {k: (req.sources.get(k) or "").strip() for k in figures}
    city_id, new = _resolve(ca, req)
    if new and "population" not in figures:
        raise InputError("a city you add needs its population (with its source)", field="population")
    with db.session(user.id) as s:
        row = None
        if city_id is not None:
            row = s.scalars(
                select(models.CustomCity).where(
                    models.CustomCity.user_id == user.id, models.CustomCity.city_id == city_id
                )
            ).first()
        if row is not None:  # bought already (or awaiting payment): new figures, no new charge
            row.figures, row.sources = figures, sources
            s.flush()
            log.info("custom city %s (city %s) of user %s: figures changed", row.id, city_id, user.id)
            return _info(row, ca)
        count = s.scalar(select(func.count()).where(models.CustomCity.user_id == user.id)) or 0
        if count >= MAX_PER_USER:
            raise InputError(f"an account holds at most {MAX_PER_USER} cities of its own data", field="city")
    return _buy(db, settings, user, ca, city_id, new, figures, sources)


def _buy(
    db: Database,
    settings: Settings,
    user: UserInfo,
    ca: CityArrays,
    city_id: int | None,
    new: dict,
    figures: dict,
    sources: dict,
) -> CustomCityInfo:
    how = billing.mode(settings)
    if how not in ("checkout", "demo"):
        raise billing.BillingError(
            "custom city data is paid through Stripe Checkout (STRIPE_SECRET_KEY); this server has no Checkout "
            "configured"
        )
    for _attempt in range(3):  # a city the user adds draws a random id; retry the rare clash
        try:
            with db.session(user.id) as s:
                row = models.CustomCity(
                    user_id=user.id,
                    city_id=city_id
                    if city_id is not None
                    else engine.CUSTOM_CITY_ID_BASE + random.randrange(1, 10**9),
                    figures=figures,
                    sources=sources,
                    status="active" if how == "demo" else "pending_payment",
                    price_paid=float(CUSTOM_CITY_USD),
                    payment_id="demo" if how == "demo" else None,
                    **new,
                )
                s.add(row)
                s.flush()
                row_id, label = row.id, _label(row, ca)
            break
        except IntegrityError:
            if city_id is not None:
                raise InputError("your data for that city is being saved already", field="city") from None
    else:  # pragma: no cover - three clashes in a billion
        raise InputError("could not store the city; try again", field="city")
    url = _checkout(db, settings, user, row_id, label) if how == "checkout" else None
    log.info(
        "custom city %s (%s) for user %s: %s",
        row_id,
        label,
        user.id,
        "active (demo)" if url is None else "checkout",
    )
    return get(db, user.id, row_id, ca, url)


def _checkout(db: Database, settings: Settings, user: UserInfo, row_id: str, label: str) -> str:
    try:
        session = one_off_session(
            settings,
            user,
            f"Custom city data: {label}",
            CUSTOM_CITY_USD,
            {"kind": "custom_city", "custom_city_id": row_id},
            f"{settings.app_base_url}/account?custom_city=ok",
            f"{settings.app_base_url}/account?checkout=cancelled",
        )
    except billing.BillingError:
        with db.session() as s:  # nothing was bought: the row goes
            if (row := s.get(models.CustomCity, row_id)) is not None:
                s.delete(row)
        raise
    with db.session() as s:
        s.get(models.CustomCity, row_id).checkout_session_id = str(session.id)  # type: ignore[union-attr]
    return str(session.url)


def apply_payment(s: Session, session: dict) -> str:
    """A completed Checkout Session for custom city data (webhook): the city becomes active."""
    return apply_one_off_payment(s, session, models.CustomCity, "custom_city_id", "custom city", "active")


register_checkout_handler("custom_city", apply_payment)


def get(
    db: Database, user_id: str, row_id: str, ca: CityArrays | None = None, url: str | None = None
) -> CustomCityInfo:
    if not is_record_id(row_id):
        raise AccessError("that custom city does not exist or is not yours")
    with db.session(user_id) as s:  # row-level security: only theirs
        row = s.get(models.CustomCity, row_id)
        if row is None or row.user_id != user_id:
            raise AccessError("that custom city does not exist or is not yours")
        return _info(row, ca, url)


def list_for(db: Database, user_id: str, ca: CityArrays | None = None) -> list[CustomCityInfo]:
    """The user's cities with their own figures (active and awaiting payment), newest first."""
    with db.session(user_id) as s:
        rows = s.scalars(
            select(models.CustomCity)
            .where(models.CustomCity.user_id == user_id)
            .order_by(models.CustomCity.created_at.desc())
        ).all()
        return [_info(r, ca) for r in rows]


def active_for(db: Database, user_id: str) -> list[engine.CustomCity]:
    """The user's paid-for figures as the engine takes them (core.forecast.custom.apply)."""
    with db.session(user_id) as s:
        rows = s.scalars(
            select(models.CustomCity)
            .where(models.CustomCity.user_id == user_id, models.CustomCity.status == "active")
            .order_by(models.CustomCity.city_id)
        ).all()
        return [
            engine.CustomCity(
                id=r.id,
                city_id=int(r.city_id),
                values={k: float(v) for k, v in r.figures.items()},
                sources=dict(r.sources),
                name=r.name,
                country_iso2=r.country_iso2,
                lat=r.lat,
                lon=r.lon,
                version=f"{r.id}:{as_utc(r.updated_at).isoformat()}",
            )
            for r in rows
        ]


def remove(db: Database, user_id: str, row_id: str) -> None:
    """Stop using the user's figures for a city (AccessError for someone else's or an unknown id)."""
    if not is_record_id(row_id):
        raise AccessError("that custom city does not exist or is not yours")
    with db.session(user_id) as s:
        row = s.get(models.CustomCity, row_id)
        if row is None or row.user_id != user_id:
            raise AccessError("that custom city does not exist or is not yours")
        s.delete(row)
    log.info("custom city %s of user %s removed", row_id, user_id)
