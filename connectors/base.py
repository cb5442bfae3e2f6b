"""The connector interface and the HTTP plumbing they share (httpx, bounded retries on 429 / 5xx)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from connectors.errors import AuthExpiredError, ConnectorError

log = logging.getLogger(__name__)

MAX_RETRIES = 5
MAX_WAIT_S = 30.0
CHECK_TIMEOUT_S = 10.0  # a credential check answers within this, or says the other side did not answer


def check_mode(connector):
    """The connector set up for a credential check: one attempt, each call bounded by CHECK_TIMEOUT_S, so
    a wrong domain or a dead server is reported in seconds, not after minutes of retries."""
    connector.retries = 0
    client = getattr(connector, "client", None)
    if client is not None:
        client.timeout = httpx.Timeout(CHECK_TIMEOUT_S)
    return connector


__all__ = [
    "CHECK_TIMEOUT_S",
    "AuthExpiredError",
    "Connector",
    "ConnectorError",
    "Order",
    "Page",
    "check_mode",
    "request",
]


@dataclass(frozen=True)
class Order:
    order_id: str
    created_at: datetime
    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    quantity: int
    amount: float  # order total in the shop's currency


@dataclass(frozen=True)
class Page:
    orders: list[Order]
    skipped: int  # orders without a usable shipping city or country (digital goods, malformed)
    next_cursor: str | None  # None: this was the last page


class Connector(Protocol):
    kind: str

    def test_connection(self) -> str:
        """A short description of what was reached (shop name); ConnectorError otherwise."""

    def pages(self, since: datetime | None, cursor: str | None) -> Iterator[Page]:
        """Orders created at or after ``since``, from ``cursor`` (a previous page's next_cursor) on."""

    def credentials(self) -> dict:
        """The credentials as they are now (a refresh may have renewed the token): stored again."""


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    sleep=time.sleep,
    service: str = "the marketplace",
    retries: int = MAX_RETRIES,
    **kw,
) -> httpx.Response:
    """One API call with bounded retries: 429 waits for Retry-After (capped), 5xx and network errors
    back off exponentially; 401 raises AuthExpiredError; any other 4xx raises ConnectorError. ``service``
    names the other side in the messages users see."""
    for attempt in range(retries + 1):
        try:
            r = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            if attempt == retries:
                raise ConnectorError(_network_message(service, exc)) from exc
            sleep(min(2**attempt, MAX_WAIT_S))
            continue
        if r.status_code == 429 or r.status_code >= 500:
            if attempt == retries:
                raise ConnectorError(f"{service} kept answering {r.status_code}; try again later")
            wait = _retry_after(r.headers.get("Retry-After"), 2**attempt)
            log.info("%s %s: %d, retrying in %.1f s", method, httpx.URL(url).host, r.status_code, wait)
            sleep(wait)
            continue
        if r.status_code == 401:
            raise AuthExpiredError(f"{service} refused the access token (401)")
        if r.status_code >= 400:
            raise ConnectorError(f"{service} refused the request ({r.status_code}): {_message(r)}")
        return r
    raise AssertionError("unreachable")


def _network_message(service: str, exc: httpx.HTTPError) -> str:
    """What a network failure means for the person who typed the address, in plain words."""
    if isinstance(exc, httpx.ConnectError):
        return f"could not reach {service}: no server answered at that address (check the address, e.g. the shop domain, and that this machine is online)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{service} did not answer in time; check the address, or try again later"
    return f"the connection to {service} failed before it answered; try again later"


def _retry_after(value: str | None, default: float) -> float:
    try:
        return min(max(float(value), 0.0), MAX_WAIT_S) if value is not None else min(default, MAX_WAIT_S)
    except ValueError:
        return min(default, MAX_WAIT_S)


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body.get("errors") or body)[:200]
    return str(body)[:200]
