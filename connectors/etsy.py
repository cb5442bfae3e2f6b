"""Etsy Open API v3: shop receipts (`getShopReceipts`) with the buyer's city, state and country,
offset pagination, OAuth 2 access tokens renewed with the refresh token (the PKCE grant gives both).
Credentials: the app's keystring, the shop id, and an access + refresh token with `transactions_r`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from connectors.base import MAX_RETRIES, AuthExpiredError, ConnectorError, Order, Page, request

log = logging.getLogger(__name__)

API = "https://openapi.etsy.com"
TOKEN_URL = "https://api.etsy.com/v3/public/oauth/token"
PAGE_SIZE = 100  # Etsy's maximum `limit`


class EtsyConnector:
    kind = "etsy"

    def __init__(
        self,
        keystring: str,
        shop_id: str,
        access_token: str,
        refresh_token: str,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        sleep=time.sleep,
    ) -> None:
        if not str(shop_id).strip().isdigit():
            raise ConnectorError(
                "the Etsy shop id is a number (Shop Manager -> Settings, or the API's getMe)"
            )
        self.keystring, self.shop_id = keystring, str(shop_id).strip()
        self.access_token, self.refresh_token = access_token, refresh_token
        self.api, self.token_url, self.sleep = (base_url or API).rstrip("/"), token_url or TOKEN_URL, sleep
        self.client = httpx.Client(timeout=30)
        self.retries = MAX_RETRIES  # 0 for a time-bounded credential check (check_mode)

    def credentials(self) -> dict:
        return {
            "keystring": self.keystring,
            "shop_id": self.shop_id,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
        }

    def _refresh(self) -> None:
        r = request(
            self.client,
            "POST",
            self.token_url,
            sleep=self.sleep,
            retries=self.retries,
            service="Etsy",
            data={
                "grant_type": "refresh_token",
                "client_id": self.keystring,
                "refresh_token": self.refresh_token,
            },
        )
        body = r.json()
        if not body.get("access_token"):
            raise ConnectorError("Etsy did not renew the access token; connect the shop again")
        self.access_token = body["access_token"]
        self.refresh_token = body.get("refresh_token") or self.refresh_token
        log.info("etsy shop %s: access token renewed", self.shop_id)

    def _get(self, path: str, params: dict | None = None) -> dict:
        for attempt in range(2):
            headers = {"x-api-key": self.keystring, "Authorization": f"Bearer {self.access_token}"}
            try:
                return request(
                    self.client,
                    "GET",
                    f"{self.api}{path}",
                    params=params,
                    headers=headers,
                    sleep=self.sleep,
                    retries=self.retries,
                    service="Etsy",
                ).json()
            except AuthExpiredError:
                if attempt:
                    raise ConnectorError("Etsy refused the renewed token; connect the shop again") from None
                self._refresh()
        raise AssertionError("unreachable")

    def test_connection(self) -> str:
        shop = self._get(f"/v3/application/shops/{self.shop_id}")
        if not shop.get("shop_name"):
            raise ConnectorError("Etsy answered without a shop name; check the shop id")
        return str(shop["shop_name"])

    def pages(self, since: datetime | None, cursor: str | None) -> Iterator[Page]:
        offset = int(cursor or 0)
        while True:
            params = {"limit": PAGE_SIZE, "offset": offset, "sort_on": "created", "sort_order": "asc"}
            if since:
                params["min_created"] = int(since.timestamp())
            body = self._get(f"/v3/application/shops/{self.shop_id}/receipts", params)
            results = body.get("results")
            if not isinstance(results, list):
                raise ConnectorError("Etsy's answer has no results list; the API may have changed")
            orders = [o for o in (_order(r) for r in results) if o is not None]
            offset += len(results)
            done = not results or offset >= int(body.get("count") or 0)
            yield Page(orders, len(results) - len(orders), None if done else str(offset))
            if done:
                return


def _order(r: dict) -> Order | None:
    try:
        city, country = (r.get("city") or "").strip(), (r.get("country_iso") or "").strip().upper()
        if not city or len(country) != 2:
            return None
        total = r.get("grandtotal") or {}
        amount = float(total.get("amount") or 0) / float(total.get("divisor") or 100)
        qty = sum(int(t.get("quantity") or 0) for t in r.get("transactions") or [])
        ts = r.get("created_timestamp") or r.get("create_timestamp")
        return Order(
            str(r["receipt_id"]),
            datetime.fromtimestamp(int(ts), UTC),
            city,
            (r.get("state") or "").strip(),
            country,
            max(qty, 1),
            amount,
        )
    except (KeyError, TypeError, ValueError):
        return None
