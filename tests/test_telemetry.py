"""Operations (issue 27): Prometheus metrics from the API and the app, OpenTelemetry spans (in-memory
exporter), Sentry error reports (a local fake Sentry endpoint), all scrubbed of secrets and e-mails."""

from __future__ import annotations

import gzip
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from api.app import create_app
from core import accounts, telemetry
from core.accounts import apikeys
from core.settings import load_settings

SECRET_KEY = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def api(sqlite_db):
    app = create_app(
        load_settings(
            database_url=sqlite_db.url,
            demo_mode=True,
            stripe_secret_key=None,
            stripe_webhook_secret="whsec_x",
            openai_api_key=None,
        ),
        sqlite_db,
    )
    with TestClient(app) as client:
        yield client


def test_api_metrics_count_routes_statuses_and_refusals(sqlite_db, api) -> None:
    """/metrics counts requests by route template (never the raw path with its ids) and status, times
    them, and counts webhook outcomes; no e-mail appears in any label."""
    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@metrics.example", "a-long-password", tier="pro"
    )
    _i, token = apikeys.create_key(sqlite_db, user, "metrics")
    route = "/api/v1/forecasts/{forecast_id}"
    before_404 = sample("aicommerce_api_requests_total", method="GET", route=route, status="404")
    before_401 = sample(
        "aicommerce_api_requests_total", method="GET", route="/api/v1/subscriptions/me", status="401"
    )
    missing = str(uuid.uuid4())
    assert (
        api.get(f"/api/v1/forecasts/{missing}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 404
    )
    assert api.get("/api/v1/subscriptions/me").status_code == 401
    refused = sample("aicommerce_webhook_events_total", outcome="refused")
    assert api.post("/webhook", content=b"{}", headers={"stripe-signature": "t=1,v1=x"}).status_code == 400
    assert sample("aicommerce_api_requests_total", method="GET", route=route, status="404") == before_404 + 1
    assert (
        sample("aicommerce_api_requests_total", method="GET", route="/api/v1/subscriptions/me", status="401")
        == before_401 + 1
    )
    assert sample("aicommerce_webhook_events_total", outcome="refused") == refused + 1
    text = api.get("/metrics").text
    assert "aicommerce_api_request_seconds_bucket" in text and f'route="{route}"' in text
    assert missing not in text and "@" not in text  # ids and e-mails never become labels


def test_forecasts_and_engine_timings_are_counted(sqlite_db, api) -> None:
    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@metrics.example", "a-long-password", tier="pro"
    )
    _i, token = apikeys.create_key(sqlite_db, user, "metrics")
    before = sample("aicommerce_forecasts_total", interface="api")
    timed = sample("aicommerce_engine_seconds_count", stage="evaluate_rank")
    made = api.post(
        "/api/v1/forecasts",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "Towels",
            "category": "Home & Garden",
            "price": 25,
            "unit_cost": 9,
            "countries": ["PT"],
        },
    )
    assert made.status_code == 201, made.text
    assert sample("aicommerce_forecasts_total", interface="api") == before + 1
    assert sample("aicommerce_engine_seconds_count", stage="evaluate_rank") == timed + 1


def test_the_app_serves_its_metrics_on_the_configured_port() -> None:
    """APP_METRICS_PORT: a Prometheus endpoint of the Streamlit process (off without it)."""
    import socket

    assert telemetry.serve_metrics(None) is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served = telemetry.serve_metrics(port)
    telemetry.seen_session("session-a")
    telemetry.seen_session("session-b")
    assert telemetry.seen_session("session-a", now=10**12) == 1  # the others are long inactive by then
    body = ""
    for _ in range(100):  # the server binds in a background thread
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{served}/metrics", timeout=10).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    assert "aicommerce_active_sessions 1.0" in body and "aicommerce_page_seconds" in body


def test_spans_of_a_forecast_agents_and_an_export(sqlite_db, ca) -> None:
    """Tracing on (here with OpenTelemetry's in-memory exporter): the forecast, the agents and the PDF
    export each leave a span with plain attributes."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agents.context import AgentContext
    from agents.runner import run_agents
    from core.forecast import ScoreWeights, prepare, validate_product
    from core.render import reports
    from core.services import exports
    from core.services.forecasts import result_table, run_forecast
    from core.services.records import load_forecast

    exporter = InMemorySpanExporter()
    if not telemetry.setup_tracing("aicommerce-test", exporter=exporter):
        pytest.fail("tracing could not be set up")
    if not any(isinstance(p.span_exporter, InMemorySpanExporter) for p in _processors()):
        pytest.skip("another exporter was installed first in this process")  # tracing is once per process
    exporter = next(
        p.span_exporter for p in _processors() if isinstance(p.span_exporter, InMemorySpanExporter)
    )
    exporter.clear()
    product = validate_product(name="Tee", category="166", price=30, unit_cost=8)
    fid = run_forecast(sqlite_db, ca, product, ["PT"])
    run_agents(
        AgentContext(ca),
        {
            "product": product.model_dump(mode="json"),
            "countries": ["PT"],
            "budget": None,
            "depth": "summary",
            "cities": 5,
        },
    )
    table = result_table(load_forecast(sqlite_db, fid, None), ca).head(10)
    exports.pdf_for(
        None,
        reports.ranking_report(
            prepare(ca, product),
            table,
            {},
            price=30,
            cost=8,
            weights=ScoreWeights(),
            depth="summary",
            scope=["PT"],
        ),
    )
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"forecast.run", "agents.run", "export.pdf"} <= set(spans)
    assert spans["forecast.run"].attributes["category"] == "Apparel & Accessories"
    assert spans["export.pdf"].attributes["cities"] == 10


def _processors() -> list:
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    return list(getattr(getattr(provider, "_active_span_processor", None), "_span_processors", ()))


class FakeSentry:
    """A local endpoint speaking Sentry's envelope protocol: it keeps what the SDK sends."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    data = gzip.decompress(data)
                elif encoding == "br":  # the SDK prefers brotli when the package is installed
                    import brotli

                    data = brotli.decompress(data)
                fake.bodies.append(data)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_address[1]}/1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_errors_reach_sentry_scrubbed_of_secrets() -> None:
    """SENTRY_DSN set: an unexpected error is reported; a key or password in its message is redacted."""
    import sentry_sdk

    fake = FakeSentry()
    try:
        assert telemetry.setup_error_tracking(fake.dsn, "test", "0")
        try:
            raise RuntimeError(f"upstream said Authorization: Bearer {SECRET_KEY} password=hunter2hunter2")
        except RuntimeError as exc:
            telemetry.capture(exc)
        sentry_sdk.flush(timeout=10)
        sent = b"".join(fake.bodies).decode("utf-8", "replace")
        assert "RuntimeError" in sent and "[redacted" in sent
        assert SECRET_KEY not in sent and "hunter2hunter2" not in sent
    finally:
        sentry_sdk.init()  # off again: no DSN
        telemetry._sentry_dsn = None
        fake.close()
    assert not telemetry.setup_error_tracking(None)


def test_webhook_outcome_labels() -> None:
    assert [telemetry.webhook_outcome(s) for s in (200, 400, 409, 500, 503, 413)] == [
        "applied",
        "refused",
        "not_applied_yet",
        "error",
        "error",
        "refused",
    ]
