"""Google Trends interest by city: an optional demand signal (docs/trends.md).

Google publishes no generally available Trends API (its official one, announced in 2025, is an alpha
open to approved testers). The Trends website itself loads a region map in two requests, and this
client makes the same two:

1. ``GET /trends/embed/explore/GEO_MAP?req=<comparison>&hl=..&tz=..``: an HTML page whose script holds
   the map widget as ``JSON.parse('<escaped JSON>')``: its ``request`` and a signed ``token``;
2. ``GET /trends/api/widgetdata/comparedgeo?req=<widget request, resolution CITY>&token=..``: JSON
   behind an anti-hijacking prefix line (``)]}',``), ``default.geoMapData``: one item per place with
   ``geoName``, ``coordinates {lat, lng}`` (cities), ``value [0-100]`` and ``hasData [bool]``.

These are the endpoints that the maintained open-source clients (trendspy, pytrends) use. They are not
a contract: Google may change or rate-limit them. We do not use those clients because both fix the
host in module constants (no test server, no proxy mirror) and sleep and print on their own; the
shared request policy of the connectors (bounded retries, Retry-After, logging) applies here too.

Values are Google's: the share of all searches in a place that were for the keyword, scaled so the
top place of the answer is 100. They measure intensity, not volume.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import httpx

from connectors.base import ConnectorError, request

log = logging.getLogger(__name__)

TRENDS_BASE = "https://trends.google.com"
EMBED_GEO_PATH = "/trends/embed/explore/GEO_MAP"
GEO_DATA_PATH = "/trends/api/widgetdata/comparedgeo"
TIMEFRAME = "today 12-m"  # the last twelve months
SERVICE = "Google Trends"
RETRIES = 2  # a user is waiting on a button: at most 1 + 2 s of back-off, then a plain message
_WIDGET = re.compile(r"JSON\.parse\('((?:[^'\\]|\\.)*)'\)")


@dataclass(frozen=True)
class TrendPoint:
    """One place of Google's answer."""

    name: str
    lat: float | None
    lon: float | None
    value: int  # 0-100, relative to the top place of the same answer


def _embedded_widget(html: str) -> dict:
    """The widget object inside ``JSON.parse('...')``: a JavaScript string literal holding JSON."""
    m = _WIDGET.search(html)
    if not m:
        raise ConnectorError("Google Trends answered a page without the map widget (it may have changed)")
    literal = re.sub(r"\\x([0-9a-fA-F]{2})", lambda g: f"\\u00{g.group(1)}", m.group(1)).replace("\\'", "'")
    literal = re.sub(r'(?<!\\)((?:\\\\)*)"', r'\1\\"', literal)  # a JS string may hold raw double quotes
    try:
        widget = json.loads(json.loads(f'"{literal}"'))
    except json.JSONDecodeError as exc:
        raise ConnectorError("Google Trends answered a map widget we cannot read") from exc
    if not isinstance(widget, dict) or "request" not in widget or "token" not in widget:
        raise ConnectorError("Google Trends answered a map widget without a request token")
    return widget


def _protected_json(text: str) -> dict:
    """Strip the ``)]}',`` line Google puts before JSON answers, then parse."""
    body = text.split("\n", 1)[1] if text.startswith(")]}'") else text
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ConnectorError("Google Trends answered something that is not JSON") from exc
    if not isinstance(data, dict):
        raise ConnectorError("Google Trends answered an unexpected shape")
    return data


def _points(data: dict) -> list[TrendPoint]:
    out = []
    for item in (data.get("default") or {}).get("geoMapData") or []:
        try:
            if not item.get("hasData", [False])[0]:
                continue
            coords = item.get("coordinates") or {}
            out.append(
                TrendPoint(
                    str(item["geoName"]),
                    _float(coords.get("lat")),
                    _float(coords.get("lng")),
                    int(item["value"][0]),
                )
            )
        except (KeyError, IndexError, TypeError, ValueError):
            log.warning("google trends: skipped a malformed place %r", str(item)[:200])
    return out


def _float(v: object) -> float | None:
    try:
        return float(v) if v is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class GoogleTrends:
    """Interest by city for one keyword in one country, over the last twelve months."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx.Client | None = None,
        language: str = "en",
        timeout_s: float = 20.0,
        sleep=None,
    ) -> None:
        self.base = (base_url or TRENDS_BASE).rstrip("/")
        self._owns_client = client is None
        self.client = client or httpx.Client(
            timeout=timeout_s, headers={"Accept-Language": language}, follow_redirects=False
        )
        self.language = language
        self._sleep = sleep

    def __enter__(self) -> GoogleTrends:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client this object made (one given to it stays open)."""
        if self._owns_client:
            self.client.close()

    def _get(self, path: str, params: dict) -> httpx.Response:
        kw = {"sleep": self._sleep} if self._sleep else {}
        r = request(
            self.client, "GET", self.base + path, params=params, service=SERVICE, retries=RETRIES, **kw
        )
        if r.is_redirect:  # a consent page or a refusal of automated requests, not data
            raise ConnectorError(f"Google Trends redirected the request ({r.status_code}); try again later")
        return r

    def interest_by_city(self, keyword: str, country: str, timeframe: str = TIMEFRAME) -> list[TrendPoint]:
        comparison = {
            "comparisonItem": [{"keyword": keyword, "geo": country, "time": timeframe}],
            "category": 0,
            "property": "",
        }
        common = {"hl": self.language, "tz": "0"}
        page = self._get(EMBED_GEO_PATH, {"req": json.dumps(comparison), **common})
        widget = _embedded_widget(page.text)
        req = {**widget["request"], "resolution": "CITY", "includeLowSearchVolumeGeos": False}
        answer = self._get(GEO_DATA_PATH, {"req": json.dumps(req), "token": widget["token"], **common})
        points = _points(_protected_json(answer.text))
        log.info(
            "google trends: %d places for a %d-character keyword in %s", len(points), len(keyword), country
        )
        return points
