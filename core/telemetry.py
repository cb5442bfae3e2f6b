"""Operations: Prometheus metrics, OpenTelemetry traces and Sentry error tracking (docs/operations.md).

Metrics are always counted (cheap, in-process) and exposed only where configured: the API's ``/metrics``
and, for the Streamlit app, a scrape port (``APP_METRICS_PORT``). Tracing is on only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or a test passes its own exporter); error tracking only when
``SENTRY_DSN`` is set. Labels are routes, statuses, stages and agent names: never a user's e-mail, an id
or a secret. Everything sent to Sentry passes ``core.logs.redact`` first.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from core.logs import redact_all

log = logging.getLogger(__name__)

# --- metrics (one set per process, on prometheus_client's default registry) -----------------------
API_REQUESTS = Counter(
    "aicommerce_api_requests_total",
    "API requests by method, route template and status",
    ["method", "route", "status"],
)
API_LATENCY = Histogram(
    "aicommerce_api_request_seconds",
    "API request latency by method and route template",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RATE_LIMITED = Counter(
    "aicommerce_api_rate_limited_total", "API requests refused by the per-account minute budget"
)
WEBHOOK_EVENTS = Counter(
    "aicommerce_webhook_events_total", "Stripe webhook deliveries by outcome", ["outcome"]
)
FORECASTS = Counter("aicommerce_forecasts_total", "Forecasts run and saved, by interface", ["interface"])
ENGINE_SECONDS = Histogram(
    "aicommerce_engine_seconds",
    "Forecast engine time by stage",
    ["stage"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PAGE_SECONDS = Histogram(
    "aicommerce_page_seconds",
    "Streamlit page run time (server side) by page",
    ["page"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ACTIVE_SESSIONS = Gauge("aicommerce_active_sessions", "Signed-in app sessions seen in the last 5 minutes")
AGENT_RUNS = Counter(
    "aicommerce_agent_runs_total", "Agent runs by agent and writer (llm, template, none)", ["agent", "writer"]
)
AGENT_FALLBACKS = Counter(
    "aicommerce_agent_fallbacks_total", "LLM writer fallbacks to the template, by agent", ["agent"]
)
JOB_QUEUE = Gauge(
    "aicommerce_job_queue",
    "Background jobs in the durable queue (deep reports, agent reruns), by state",
    ["state"],
)

WEBHOOK_OUTCOMES = {200: "applied", 400: "refused", 409: "not_applied_yet", 500: "error"}


def webhook_outcome(status: int) -> str:
    """The label of a webhook answer: applied, refused, not_applied_yet or error."""
    return WEBHOOK_OUTCOMES.get(status, "error" if status >= 500 else "refused")


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the duration of a block in ``histogram`` (with its labels)."""
    with histogram.labels(**labels).time():
        yield


_metrics_lock = threading.Lock()
_metrics_port: int | None = None


def serve_metrics(port: int | None) -> int | None:
    """Expose this process's metrics on ``port`` (the Streamlit app's scrape port), once per process.

    The server starts in a background thread, never in the page's: started in the script thread, a `make
    cluster` replica's first page never answered (tests/test_cluster.py; the cause is not established).
    A port already taken is logged, not raised."""
    global _metrics_port
    if not port:
        return None
    with _metrics_lock:
        if _metrics_port is None:
            _metrics_port = port
            threading.Thread(
                target=_start_metrics_server, args=(port,), name="metrics-server", daemon=True
            ).start()
    return _metrics_port


def _start_metrics_server(port: int) -> None:
    try:
        start_http_server(port, addr=os.environ.get("APP_METRICS_HOST", "127.0.0.1"))
    except OSError as exc:
        log.warning("metrics: port %d not available (%s); metrics are not served", port, exc)
        return
    log.info("metrics: serving Prometheus metrics on port %d", port)


SESSION_WINDOW_S = 300.0
_sessions: dict[str, float] = {}


def seen_session(session_id: str, now: float | None = None) -> int:
    """Note a signed-in app session's activity; the gauge counts sessions active in the last 5 minutes."""
    import time

    now = time.time() if now is None else now
    with _metrics_lock:
        _sessions[session_id] = now
        for sid in [s for s, t in _sessions.items() if now - t > SESSION_WINDOW_S]:
            del _sessions[sid]
        ACTIVE_SESSIONS.set(len(_sessions))
        return len(_sessions)


# --- tracing ---------------------------------------------------------------------------------------
_tracing_on = False


def setup_tracing(service: str, exporter: Any | None = None) -> bool:
    """Send traces when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (OTLP over HTTP) or a test gives its own
    ``exporter``; otherwise the OpenTelemetry API stays a no-op. Once per process."""
    global _tracing_on
    if _tracing_on:
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if exporter is None and not endpoint:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracing_on = True
    log.info(
        "tracing: spans of %s go to %s", service, "the given exporter" if exporter is not None else "OTLP"
    )
    return True


def tracing_on() -> bool:
    return _tracing_on


@contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[None]:
    """A trace span around a block (a no-op until tracing is set up). Attributes are plain facts (counts,
    categories, record ids): never secrets or e-mails."""
    from opentelemetry import trace

    with trace.get_tracer("aicommerce").start_as_current_span(name) as current:
        for key, value in attributes.items():
            current.set_attribute(key, value)
        yield


def instrument_api(app: Any) -> None:
    """FastAPI spans per request when tracing is on (OpenTelemetry's FastAPI instrumentation)."""
    if not _tracing_on:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="metrics,health")


# --- error tracking ----------------------------------------------------------------------------------
def _scrub(event: dict, _hint: dict | None = None) -> dict:
    """Every string of a Sentry event redacted (keys, tokens, passwords, URLs with credentials)."""
    return redact_all(event)  # type: ignore[return-value]


_sentry_dsn: str | None = None


def setup_error_tracking(
    dsn: str | None, environment: str = "production", release: str | None = None
) -> bool:
    """Report unhandled errors to Sentry when ``SENTRY_DSN`` is set; no personal data, strings scrubbed.
    Once per process and DSN (the app calls it on every page run)."""
    global _sentry_dsn
    if not dsn:
        return False
    if dsn == _sentry_dsn:
        return True
    import sentry_sdk

    _sentry_dsn = dsn
    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        before_send=_scrub,
        before_breadcrumb=_scrub,
        traces_sample_rate=0.0,
        environment=environment,
        release=release,
    )
    log.info("error tracking: Sentry on (%s)", environment)
    return True


def capture(exc: BaseException) -> None:
    """Report a handled-but-unexpected error (the pages' and the API's catch-all) when Sentry is on."""
    try:
        import sentry_sdk

        if sentry_sdk.get_client().is_active():
            sentry_sdk.capture_exception(exc)
    except Exception:  # error tracking must never add an error
        log.debug("sentry capture failed", exc_info=True)
