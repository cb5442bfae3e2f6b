"""Shopify Admin GraphQL API (version pinned): orders with their shipping city, cursor pagination,
the query-cost throttle respected. Credentials: the shop domain and an Admin API access token of a
custom app with the `read_orders` scope (README, "Marketplace connectors")."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime

import httpx

from connectors.base import MAX_RETRIES, ConnectorError, Order, Page, request

log = logging.getLogger(__name__)

API_VERSION = "2025-10"
PAGE_SIZE = 250  # Shopify's maximum for `first`
MAX_THROTTLE_WAITS = 10

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    edges {
      node {
        id
        createdAt
        shippingAddress { city provinceCode countryCodeV2 }
        currentTotalPriceSet { shopMoney { amount currencyCode } }
        lineItems(first: 100) { edges { node { quantity } } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SHOP_QUERY = "query { shop { name } }"
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com")


class ShopifyConnector:
    kind = "shopify"

    def __init__(
        self, shop: str, access_token: str, *, base_url: str | None = None, sleep=time.sleep
    ) -> None:
        shop = shop.strip().lower().removeprefix("https://").rstrip("/")
        # Only Shopify's own shop domains: a typed host such as "127.0.0.1:8628" would make the server open
        # connections wherever the user points it (issue 24). Tests and mirrors set base_url instead.
        if not SHOP_DOMAIN.fullmatch(shop):
            raise ConnectorError(
                "enter the shop's myshopify.com domain, e.g. my-shop.myshopify.com "
                "(Shopify admin -> Settings -> Domains)"
            )
        self.shop, self.token, self.sleep = shop, access_token, sleep
        self.url = f"{(base_url or f'https://{shop}').rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
        self.client = httpx.Client(timeout=30, headers={"X-Shopify-Access-Token": access_token})
        self.retries = MAX_RETRIES  # 0 for a time-bounded credential check (check_mode)

    def credentials(self) -> dict:
        return {"shop": self.shop, "access_token": self.token}

    def _query(self, query: str, variables: dict | None = None) -> dict:
        for _ in range(MAX_THROTTLE_WAITS + 1):
            body = request(
                self.client,
                "POST",
                self.url,
                json={"query": query, "variables": variables or {}},
                sleep=self.sleep,
                retries=self.retries,
                service="Shopify",
            ).json()
            errors = body.get("errors") or []
            if any(
                (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)
            ):
                cost = (body.get("extensions") or {}).get("cost") or {}
                status = cost.get("throttleStatus") or {}
                need = float(cost.get("requestedQueryCost") or 100) - float(
                    status.get("currentlyAvailable") or 0
                )
                wait = min(max(need / max(float(status.get("restoreRate") or 50), 1.0), 0.5), 30.0)
                log.info("shopify %s: throttled, waiting %.1f s", self.shop, wait)
                self.sleep(wait)
                continue
            if errors:
                raise ConnectorError(
                    f"Shopify answered an error: {str(errors[0].get('message', errors[0]))[:200]}"
                )
            return body.get("data") or {}
        raise ConnectorError("Shopify kept throttling the sync; try again later")

    def test_connection(self) -> str:
        name = (self._query(SHOP_QUERY).get("shop") or {}).get("name")
        if not name:
            raise ConnectorError(
                "Shopify answered without a shop name; check the domain and the token's scopes"
            )
        return str(name)

    def pages(self, since: datetime | None, cursor: str | None) -> Iterator[Page]:
        query = f"created_at:>='{since.isoformat()}'" if since else None
        while True:
            data = self._query(ORDERS_QUERY, {"first": PAGE_SIZE, "after": cursor, "query": query})
            orders_obj = data.get("orders")
            if not isinstance(orders_obj, dict):
                raise ConnectorError("Shopify's answer has no orders field; the API version may have changed")
            orders, skipped = [], 0
            for edge in orders_obj.get("edges") or []:
                order = _order((edge or {}).get("node") or {})
                if order is None:
                    skipped += 1
                else:
                    orders.append(order)
            info = orders_obj.get("pageInfo") or {}
            cursor = info.get("endCursor") if info.get("hasNextPage") else None
            yield Page(orders, skipped, cursor)
            if cursor is None:
                return


def _order(node: dict) -> Order | None:
    """One order node -> Order, or None when it has no shipping city or country or is malformed."""
    try:
        addr = node.get("shippingAddress") or {}
        city, country = (addr.get("city") or "").strip(), (addr.get("countryCodeV2") or "").strip().upper()
        if not city or len(country) != 2:
            return None
        qty = sum(
            int((e.get("node") or {}).get("quantity") or 0)
            for e in (node.get("lineItems") or {}).get("edges") or []
        )
        amount = float(((node.get("currentTotalPriceSet") or {}).get("shopMoney") or {}).get("amount") or 0)
        created = datetime.fromisoformat(str(node["createdAt"]).replace("Z", "+00:00"))
        return Order(
            str(node["id"]),
            created,
            city,
            (addr.get("provinceCode") or "").strip(),
            country,
            max(qty, 1),
            amount,
        )
    except (KeyError, TypeError, ValueError):
        return None
