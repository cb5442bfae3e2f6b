"""Amazon Selling Partner API: `getOrders` (Orders API v0) with ShippingAddress City / StateOrRegion /
CountryCode, NextToken pagination, Login with Amazon (LWA) refresh-token auth, marketplace ids, and the
operation's rate limit (429: Retry-After, or the x-amzn-RateLimit-Limit rate, with backoff).

Credentials: the LWA client id and secret of a registered SP-API application, the seller's refresh
token (from authorising the app), the marketplace ids (e.g. A1PA6795UKMFR9 for amazon.de) and the
region's endpoint (https://sellingpartnerapi-eu.amazon.com, -na, -fe). City, region and country of the
shipping address are returned without a Restricted Data Token; nothing else personal is read.

A small httpx client rather than python-amazon-sp-api: it keeps one retry and rate-limit policy for
every marketplace (connectors.base.request) and lets the tests talk to a local server speaking the
documented wire format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx

from connectors.base import MAX_RETRIES, AuthExpiredError, ConnectorError, Order, Page, request

log = logging.getLogger(__name__)

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ENDPOINTS = {
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "na": "https://sellingpartnerapi-na.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
PAGE_SIZE = 100  # MaxResultsPerPage: 1-100
DEFAULT_SINCE_DAYS = 730  # CreatedAfter is required: two years back unless the connection says otherwise


class AmazonConnector:
    kind = "amazon"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        marketplace_ids: str,
        region: str = "eu",
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        sleep=time.sleep,
    ) -> None:
        ids = [m.strip() for m in str(marketplace_ids).split(",") if m.strip()]
        if not ids:
            raise ConnectorError("enter at least one marketplace id (e.g. A1PA6795UKMFR9 for amazon.de)")
        if base_url is None and region not in ENDPOINTS:
            raise ConnectorError(f"the SP-API region is one of {', '.join(ENDPOINTS)}")
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.marketplace_ids, self.region = ids, region
        self.api = (base_url or ENDPOINTS[region]).rstrip("/")
        self.token_url, self.sleep = token_url or LWA_TOKEN_URL, sleep
        self.client = httpx.Client(timeout=30)
        self.retries = MAX_RETRIES  # 0 for a time-bounded credential check (check_mode)
        self.access_token: str | None = None

    def credentials(self) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "marketplace_ids": ",".join(self.marketplace_ids),
            "region": self.region,
        }

    def _token(self) -> str:
        r = request(
            self.client,
            "POST",
            self.token_url,
            sleep=self.sleep,
            retries=self.retries,
            service="Amazon",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        token = r.json().get("access_token")
        if not token:
            raise ConnectorError("Login with Amazon gave no access token; authorise the app again")
        self.access_token = token
        return token

    def _get(self, path: str, params: dict) -> dict:
        for attempt in range(2):
            token = self.access_token or self._token()
            try:
                return request(
                    self.client,
                    "GET",
                    f"{self.api}{path}",
                    params=params,
                    sleep=self.sleep,
                    retries=self.retries,
                    service="Amazon",
                    headers={"x-amz-access-token": token, "user-agent": "aicommerce/1.0 (Language=Python)"},
                ).json()
            except AuthExpiredError:
                if attempt:
                    raise ConnectorError(
                        "Amazon refused a fresh access token; check the app's authorisation"
                    ) from None
                self.access_token = None  # LWA tokens last an hour: get a new one and retry once
        raise AssertionError("unreachable")

    def test_connection(self) -> str:
        body = self._get("/sellers/v1/marketplaceParticipations", {})
        names = [((p.get("marketplace") or {}).get("name") or "") for p in body.get("payload") or []]
        names = [n for n in names if n]
        if not names:
            raise ConnectorError("Amazon answered without marketplaces; check the app's roles (Orders)")
        return "Amazon " + ", ".join(names[:3])

    def pages(self, since: datetime | None, cursor: str | None) -> Iterator[Page]:
        after = (since or datetime.now(UTC) - timedelta(days=DEFAULT_SINCE_DAYS)).astimezone(UTC)
        token = cursor
        while True:
            params: dict = (
                {"NextToken": token}
                if token
                else {
                    "MarketplaceIds": ",".join(self.marketplace_ids),
                    "CreatedAfter": after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "MaxResultsPerPage": PAGE_SIZE,
                }
            )
            if token:
                params["MarketplaceIds"] = ",".join(self.marketplace_ids)
            payload = self._get("/orders/v0/orders", params).get("payload")
            if not isinstance(payload, dict) or not isinstance(payload.get("Orders"), list):
                raise ConnectorError("Amazon's answer has no payload.Orders list; the API may have changed")
            raw = payload["Orders"]
            orders = [o for o in (_order(r) for r in raw) if o is not None]
            token = payload.get("NextToken") or None
            yield Page(orders, len(raw) - len(orders), token)
            if token is None:
                return


def _order(r: dict) -> Order | None:
    try:
        if r.get("OrderStatus") in ("Canceled", "Pending"):
            return None  # not a sale (yet)
        addr = r.get("ShippingAddress") or {}
        city, country = (addr.get("City") or "").strip(), (addr.get("CountryCode") or "").strip().upper()
        if not city or len(country) != 2:
            return None
        qty = int(r.get("NumberOfItemsShipped") or 0) + int(r.get("NumberOfItemsUnshipped") or 0)
        amount = float((r.get("OrderTotal") or {}).get("Amount") or 0)
        created = datetime.fromisoformat(str(r["PurchaseDate"]).replace("Z", "+00:00"))
        return Order(
            str(r["AmazonOrderId"]),
            created,
            city,
            (addr.get("StateOrRegion") or "").strip(),
            country,
            max(qty, 1),
            amount,
        )
    except (KeyError, TypeError, ValueError):
        return None
