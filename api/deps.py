"""What the endpoints share, as FastAPI dependencies: the services (settings, database, city arrays,
writer) and the authenticated, rate-counted client (``User``)."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from core.accounts import UserInfo, apikeys, ratelimit
from core.forecast import CityArrays
from core.services import records
from core.settings import Settings

log = logging.getLogger(__name__)


class Services:
    """What the endpoints share: settings, the database, the city arrays (loaded once) and the writer."""

    def __init__(self, settings: Settings, db: records.Database) -> None:
        self.settings, self.db = settings, db
        self._ca: CityArrays | None = None
        self._lock = threading.Lock()

    @property
    def ca(self) -> CityArrays:
        with self._lock:
            if self._ca is None:
                from core.places.citydata import city_arrays_from_db

                self._ca = city_arrays_from_db(self.db)
            return self._ca

    def ca_for(self, user: UserInfo) -> CityArrays:
        """The user's city arrays: the shared table with their own city data (core.services.cities)."""
        from core.services.cities import for_user

        return for_user(self.db, self.ca, user.id)

    def writer(self):
        from agents.writers import make_writer

        return make_writer(self.settings)


class RateLimitedError(Exception):
    def __init__(self, decision: ratelimit.RateDecision) -> None:
        super().__init__("rate limited")
        self.decision = decision


def services_of(request: Request) -> Services:
    return request.app.state.services


def client(
    request: Request, response: Response, authorization: Annotated[str | None, Header()] = None
) -> UserInfo:
    """Authenticate the bearer key, check the plan has API access, count the request (429 over the limit)."""
    services: Services = request.app.state.services
    found = getattr(request.state, "api_key", None)  # checked already by the front door (api/guard.py)
    if found is None:
        token = (
            authorization[7:].strip() if authorization and authorization[:7].lower() == "bearer " else None
        )
        found = apikeys.authenticate(services.db, token)
    user, key_id = found
    apikeys.require_api_access(user)
    # The plan's budget is per account: every key of the user counts against one window (issue 24: twenty
    # keys must not make twenty budgets).
    d = ratelimit.hit(services.db, user.id, user.plan.api_requests_per_minute)
    response.headers["X-RateLimit-Limit"] = str(d.limit)
    response.headers["X-RateLimit-Remaining"] = str(d.remaining)
    if not d.allowed:
        log.info("rate limit: user %s (key %s) over %d requests/min", user.id, key_id, d.limit)
        raise RateLimitedError(d)
    return user


User = Annotated[UserInfo, Depends(client)]
Svc = Annotated[Services, Depends(services_of)]
