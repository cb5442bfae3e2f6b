"""The city arrays a user's work runs on: the shared table, with the user's own city data laid over it
(core.forecast.custom) when they have bought some. Every interface (pages, API, CLI, the job worker) asks
here, so a user's figures reach their forecasts, what-ifs, agents and reports alike, and nobody else's.

Also the custom-city use cases the interfaces call: save (buy or change), list, remove.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from core import telemetry
from core.accounts import UserInfo
from core.billing import custom_cities
from core.billing.custom_cities import CityRequest, CustomCityInfo
from core.db.database import Database
from core.forecast import CityArrays
from core.forecast import custom as engine
from core.settings import Settings

log = logging.getLogger(__name__)

CACHE_ENTRIES = 16  # overlaid arrays kept per process (about 40 MB each at 34,000 cities)
_cache: OrderedDict[tuple, tuple[CityArrays, CityArrays]] = OrderedDict()  # key -> (base, overlaid)
_lock = threading.Lock()

__all__ = ["CityRequest", "CustomCityInfo", "for_user", "list_cities", "remove_city", "save_city"]


def for_user(db: Database, base: CityArrays, user_id: str | None) -> CityArrays:
    """``base`` with the user's paid-for city data over it; ``base`` itself for a user with none (one
    indexed read per call). Overlaid arrays are cached by the figures' versions."""
    if user_id is None:
        return base
    customs = custom_cities.active_for(db, user_id)
    if not customs:
        return base
    key = (id(base), tuple(c.version for c in customs))
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is base:  # (the base is held, so its id is not reused meanwhile)
            _cache.move_to_end(key)
            return hit[1]
    with telemetry.timed(telemetry.ENGINE_SECONDS, stage="custom_cities"):
        arrays = engine.apply(base, customs)
    log.info("city arrays with %d custom cities built for user %s", len(customs), user_id)
    with _lock:
        _cache[key] = (base, arrays)
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return arrays


def save_city(
    db: Database, settings: Settings, user: UserInfo, base: CityArrays, req: CityRequest
) -> CustomCityInfo:
    """Buy (or change) the user's figures for a city: the city is looked up among the user's own cities
    too, so a city they added is changed by its name."""
    return custom_cities.save(db, settings, user, for_user(db, base, user.id), req)


def list_cities(db: Database, user_id: str, base: CityArrays | None = None) -> list[CustomCityInfo]:
    """The user's cities with their own figures, newest first (named from ``base`` when given)."""
    return custom_cities.list_for(db, user_id, base)


def remove_city(db: Database, user_id: str, row_id: str) -> None:
    custom_cities.remove(db, user_id, row_id)
