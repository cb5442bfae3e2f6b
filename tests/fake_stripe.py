"""A local HTTP server speaking the Stripe wire format for the endpoints the app calls.

POST /v1/checkout/sessions (form-encoded), GET /v1/checkout/sessions/{id}, GET /v1/subscriptions/{id}.
Tests set ``sessions[id]`` fields (status, payment_status) to play Stripe's side.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self) -> None:
        self.sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:12]}")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                fake.requests.append(("POST", self.path, form))
                if not self.headers.get("Authorization", "").startswith("Bearer sk_test_"):
                    return self._reply(
                        401, {"error": {"type": "invalid_request_error", "message": "bad key"}}
                    )
                if self.path == "/v1/checkout/sessions":
                    sid = f"cs_test_{uuid.uuid4().hex[:16]}"
                    session = {
                        "id": sid,
                        "object": "checkout.session",
                        "url": f"https://checkout.stripe.test/{sid}",
                        "mode": form.get("mode"),
                        "status": "open",
                        "payment_status": "unpaid",
                        "client_reference_id": form.get("client_reference_id"),
                        "customer_email": form.get("customer_email"),
                        "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                        "subscription": f"sub_{uuid.uuid4().hex[:12]}",
                        "customer": f"cus_{uuid.uuid4().hex[:10]}",
                        "success_url": form.get("success_url"),
                        "cancel_url": form.get("cancel_url"),
                        "line_items_price": form.get("line_items[0][price]"),
                    }
                    fake.sessions[sid] = session
                    return self._reply(200, session)
                return self._reply(
                    404, {"error": {"type": "invalid_request_error", "message": "no such route"}}
                )

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path, {}))
                path = self.path.split("?")[0]
                for prefix, store in (
                    ("/v1/checkout/sessions/", fake.sessions),
                    ("/v1/subscriptions/", fake.subscriptions),
                ):
                    if path.startswith(prefix):
                        obj = store.get(path[len(prefix) :])
                        if obj is None:
                            return self._reply(
                                404, {"error": {"type": "invalid_request_error", "message": "No such object"}}
                            )
                        return self._reply(200, obj)
                return self._reply(
                    404, {"error": {"type": "invalid_request_error", "message": "no such route"}}
                )

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
