"""Local HTTP servers speaking the Shopify Admin GraphQL and Etsy Open API v3 wire formats.

They serve an in-memory list of orders with the documented shapes and can play the marketplace's
awkward side: a THROTTLED GraphQL answer with its cost extension, 429 with Retry-After, 500s (an
outage), an expired access token (401) that the OAuth token endpoint renews.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[int] = []  # statuses to answer next, one per request (e.g. [429] or [500]*20)
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def handle_one(self, method: str) -> None:
                fake.requests.append((method, self.path))
                raw = self.body() if method == "POST" else b""
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    return self.reply(
                        status,
                        {"errors": "slow down" if status == 429 else "internal error"},
                        {"Retry-After": "1"} if status == 429 else None,
                    )
                return fake.route(self, method, raw)

            def do_GET(self) -> None:
                self.handle_one("GET")

            def do_POST(self) -> None:
                self.handle_one("POST")

            def log_message(self, *_a) -> None:
                pass

        return Handler


class FakeShopify(_Server):
    def __init__(self, orders: list[dict], token: str = "shpat_test") -> None:
        self.orders, self.token, self.throttle_next = orders, token, 0
        super().__init__()

    def route(self, h, method: str, raw: bytes) -> None:
        if method != "POST" or not h.path.endswith("/admin/api/2025-10/graphql.json"):
            return h.reply(404, {"errors": "Not Found"})
        if h.headers.get("X-Shopify-Access-Token") != self.token:
            return h.reply(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        req = json.loads(raw)
        cost = {
            "requestedQueryCost": 252,
            "actualQueryCost": 252,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1748, "restoreRate": 100.0},
        }
        if self.throttle_next:
            self.throttle_next -= 1
            cost["throttleStatus"]["currentlyAvailable"] = 52
            return h.reply(
                200,
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": cost},
                },
            )
        if "shop" in req["query"] and "orders" not in req["query"]:
            return h.reply(200, {"data": {"shop": {"name": "Fake Towels Ltd"}}, "extensions": {"cost": cost}})
        v = req.get("variables") or {}
        orders = self.orders
        if v.get("query"):  # the search syntax the connector sends: created_at:>='ISO-8601'
            since = v["query"].split(">=", 1)[1].strip("'\"")
            orders = [o for o in orders if o["createdAt"] >= since.replace("+00:00", "Z")]
        start = int(v.get("after") or 0)
        first = int(v.get("first") or 50)
        chunk = orders[start : start + first]
        end = start + len(chunk)
        return h.reply(
            200,
            {
                "data": {
                    "orders": {
                        "edges": [
                            {"cursor": str(start + i + 1), "node": node} for i, node in enumerate(chunk)
                        ],
                        "pageInfo": {
                            "hasNextPage": end < len(orders),
                            "endCursor": str(end) if chunk else None,
                        },
                    }
                },
                "extensions": {"cost": cost},
            },
        )


def shopify_order(i: int, city: str | None, province: str, country: str, qty: int = 1) -> dict:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        hours=i
    )  # newer orders, later dates (as in a shop)
    node = {
        "id": f"gid://shopify/Order/{1000 + i}",
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currentTotalPriceSet": {"shopMoney": {"amount": f"{25 * qty:.2f}", "currencyCode": "EUR"}},
        "lineItems": {"edges": [{"node": {"quantity": qty}}]},
    }
    node["shippingAddress"] = (
        None if city is None else {"city": city, "provinceCode": province, "countryCodeV2": country}
    )
    return node


class FakeEtsy(_Server):
    def __init__(self, receipts: list[dict], shop_id: str = "12345678") -> None:
        self.receipts, self.shop_id = receipts, shop_id
        self.valid_tokens, self.refreshes = {"good-token"}, 0
        super().__init__()

    def route(self, h, method: str, raw: bytes) -> None:
        url = urlsplit(h.path)
        if method == "POST" and url.path == "/v3/public/oauth/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "refresh-1":
                return h.reply(
                    400, {"error": "invalid_grant", "error_description": "refresh token is invalid"}
                )
            self.refreshes += 1
            self.valid_tokens.add(f"renewed-{self.refreshes}")
            return h.reply(
                200,
                {
                    "access_token": f"renewed-{self.refreshes}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": "refresh-1",
                },
            )
        if h.headers.get("x-api-key") != "keystring-1":
            return h.reply(403, {"error": "Invalid API key"})
        if h.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid_tokens:
            return h.reply(401, {"error": "invalid_token"})
        if url.path == f"/v3/application/shops/{self.shop_id}":
            return h.reply(200, {"shop_id": int(self.shop_id), "shop_name": "FakeTowelShop"})
        if url.path == f"/v3/application/shops/{self.shop_id}/receipts":
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 25)), 100)
            receipts = [r for r in self.receipts if r["created_timestamp"] >= int(q.get("min_created", 0))]
            return h.reply(200, {"count": len(receipts), "results": receipts[offset : offset + limit]})
        return h.reply(404, {"error": "Not Found"})


def etsy_receipt(i: int, city: str | None, state: str, country: str, qty: int = 1) -> dict:
    return {
        "receipt_id": 900000 + i,
        "created_timestamp": 1767225600 + 3600 * i,
        "city": city,
        "state": state,
        "country_iso": country,
        "name": "Buyer Name",
        "first_line": "1 Street",
        "grandtotal": {"amount": 2500 * qty, "divisor": 100, "currency_code": "USD"},
        "transactions": [{"transaction_id": i, "quantity": qty}],
    }


class FakeAmazon(_Server):
    """SP-API Orders v0 and Login with Amazon: NextToken pages, access tokens that expire."""

    def __init__(self, orders: list[dict], page_size: int = 100) -> None:
        self.orders, self.page_size = orders, page_size
        self.issued: list[str] = []
        self.expired: set[str] = set()
        super().__init__()

    def route(self, h, method: str, raw: bytes) -> None:
        url = urlsplit(h.path)
        if method == "POST" and url.path == "/auth/o2/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (
                form.get("grant_type"),
                form.get("client_id"),
                form.get("client_secret"),
                form.get("refresh_token"),
            ) != ("refresh_token", "amzn1.application-oa2-client.x", "secret-x", "Atzr|refresh"):
                return h.reply(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The request has an invalid grant parameter",
                    },
                )
            token = f"Atza|token-{len(self.issued) + 1}"
            self.issued.append(token)
            return h.reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})
        token = h.headers.get("x-amz-access-token")
        if token not in self.issued or token in self.expired:
            return h.reply(
                403 if token is None else 401,
                {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]},
            )
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/sellers/v1/marketplaceParticipations":
            return h.reply(
                200,
                {
                    "payload": [
                        {
                            "marketplace": {"id": "A1PA6795UKMFR9", "name": "Amazon.de"},
                            "participation": {"isParticipating": True},
                        }
                    ]
                },
            )
        if url.path == "/orders/v0/orders":
            if "MarketplaceIds" not in q or ("CreatedAfter" not in q and "NextToken" not in q):
                return h.reply(
                    400,
                    {
                        "errors": [
                            {"code": "InvalidInput", "message": "CreatedAfter or NextToken is required"}
                        ]
                    },
                )
            start = int(q["NextToken"].removeprefix("page-")) if "NextToken" in q else 0
            chunk = self.orders[start : start + self.page_size]
            end = start + len(chunk)
            payload = {"Orders": chunk, "CreatedBefore": "2026-11-29T00:00:00Z"}
            if end < len(self.orders):
                payload["NextToken"] = f"page-{end}"
            return h.reply(200, {"payload": payload}, {"x-amzn-RateLimit-Limit": "0.0167"})
        return h.reply(404, {"errors": [{"code": "NotFound", "message": "Not found"}]})


def amazon_order(
    i: int, city: str | None, region: str, country: str, qty: int = 1, status: str = "Shipped"
) -> dict:
    order = {
        "AmazonOrderId": f"303-{i:07d}-1234567",
        "PurchaseDate": f"2026-0{1 + i % 9}-0{1 + i % 9}T08:00:00Z",
        "OrderStatus": status,
        "NumberOfItemsShipped": qty,
        "NumberOfItemsUnshipped": 0,
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": f"{25.0 * qty:.2f}"},
        "MarketplaceId": "A1PA6795UKMFR9",
    }
    if city is not None:
        order["ShippingAddress"] = {
            "City": city,
            "StateOrRegion": region,
            "CountryCode": country,
            "PostalCode": "10115",
        }
    return order


class FakeGoogleTrends(_Server):
    """The two requests the Trends website makes for a region map: the embed page holding the widget as
    ``JSON.parse('...')`` (quotes escaped as \\x22, as Google writes them), then ``comparedgeo`` with the
    widget's token, answering JSON behind the ``)]}',`` line. ``places``: (name, lat, lng, value);
    ``changed=True`` serves a page without the widget (Google changed its site)."""

    TOKEN = "APP6_UEAAAAAZfake"

    def __init__(
        self, places: list[tuple[str, float | None, float | None, int]], changed: bool = False
    ) -> None:
        self.places, self.changed = places, changed
        self.asked: list[dict] = []
        super().__init__()

    def route(self, h, method: str, raw: bytes) -> None:
        url = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/trends/embed/explore/GEO_MAP":
            req = json.loads(q["req"])
            self.asked.append(req)
            widget = {
                "request": {
                    "geo": {"country": req["comparisonItem"][0]["geo"]},
                    "comparisonItem": [
                        {
                            "time": req["comparisonItem"][0]["time"].replace(" ", "+"),
                            "complexKeywordsRestriction": {
                                "keyword": [{"type": "BROAD", "value": req["comparisonItem"][0]["keyword"]}]
                            },
                        }
                    ],
                    "resolution": "REGION",
                    "locale": "en-US",
                    "requestOptions": {"property": "", "backend": "IZG", "category": 0},
                    "userConfig": {"userType": "USER_TYPE_EMBED"},
                },
                "token": self.TOKEN,
                "type": "fe_geo_chart_explore",
                "title": "Interest by subregion",
            }
            literal = json.dumps(widget).replace('"', "\\x22").replace("'", "\\'")
            html = (
                "" if self.changed else f"<script>var w = JSON.parse('{literal}'); trends.embed(w);</script>"
            )
            return self.text(h, "text/html", f"<!doctype html><html><body>{html}</body></html>")
        if url.path == "/trends/api/widgetdata/comparedgeo":
            req = json.loads(q["req"])
            if q.get("token") != self.TOKEN:
                return h.reply(400, {"error": "bad token"})
            if req.get("resolution") != "CITY":
                return h.reply(200, {"default": {"geoMapData": []}})
            items = [
                {
                    "geoName": n,
                    "value": [v],
                    "formattedValue": [str(v)],
                    "maxValueIndex": 0,
                    "hasData": [v > 0],
                    **({"coordinates": {"lat": lat, "lng": lng}} if lat is not None else {}),
                }
                for n, lat, lng, v in self.places
            ]
            items.append({"geoName": "Broken", "value": "x", "hasData": [True]})  # malformed: skipped
            return self.text(
                h, "application/json", ")]}',\n" + json.dumps({"default": {"geoMapData": items}})
            )
        return h.reply(404, {"error": "not found"})

    @staticmethod
    def text(h, content_type: str, text: str) -> None:
        """A 200 answer with a body that is not plain JSON (an HTML page, JSON behind Google's prefix)."""
        data = text.encode()
        h.send_response(200)
        h.send_header("Content-Type", f"{content_type}; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
