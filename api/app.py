"""FastAPI application: ``create_app()``; OpenAPI docs at /docs, schema at /openapi.json."""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from api.guard import BodyGuard
from core import __version__, billing, telemetry
from core.accounts import UserInfo, apikeys, forecasts_used, period_of, ratelimit, reserve_forecast
from core.accounts.apikeys import AuthError
from core.billing import deep_reports
from core.errors import AccessError, AppError, DatabaseError, InputError, LimitError
from core.forecast import CityArrays, ClimateChoice, ProductInput, ShippingPayer, prepare, validate_product
from core.forecast.categories import all_categories
from core.render import exports, reports
from core.services import exports as export_service
from core.services import records
from core.services.forecasts import product_from_params, result_limit, result_table, run_forecast
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)

# What a client gets per city: the ranking's headline columns (every column is in the CSV export).
CITY_FIELDS = [
    "rank",
    "city_id",
    "city",
    "region",
    "country_iso2",
    "lat",
    "lon",
    "population",
    "opportunity_score",
    "demand_score",
    "competition_index",
    "profitability_score",
    "expected_units_month",
    "expected_units_low",
    "expected_units_high",
    "expected_revenue_usd_month",
    "profit_usd_month",
    "unit_margin_usd",
    "recommended_price_usd",
    "good_price_low_usd",
    "good_price_high_usd",
    "delivery_days",
    "loss_making",
    "price_above_market",
    "climate_zone",
    "climate_fit",
    "season_factor",
    "best_months",
]

CATEGORY_VALUES = tuple(c.name for c in all_categories()) + tuple(str(c.id) for c in all_categories())
REPORT_TYPES = tuple(reports.report_types())


class ErrorOut(BaseModel):
    """Every error the API answers: one message that says what to fix."""

    detail: str = Field(examples=["price: Input should be greater than 0"])


ERRORS = {  # declared on every operation: what the API can answer besides success (issue 24, item 8)
    400: {"model": ErrorOut, "description": "Bad request"},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "The plan has no API access, or a plan limit is reached"},
    404: {"model": ErrorOut, "description": "Not found, or not yours"},
    413: {"model": ErrorOut, "description": "Request body over the size limit"},
    422: {"model": ErrorOut, "description": "Invalid input: the message names the field"},
    429: {"model": ErrorOut, "description": "Over the plan's requests a minute (Retry-After says when)"},
    500: {"model": ErrorOut, "description": "Unexpected error (the message has a reference for the log)"},
    502: {"model": ErrorOut, "description": "Stripe could not be reached or refused"},
    503: {"model": ErrorOut, "description": "The database is not available"},
}


class ForecastIn(BaseModel):
    """A product to forecast (the CLI's fields) and the scope. Strict types: a number is a JSON number (no
    "25" or true), text has no control characters (checked with the product)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=200, examples=["Bath towel set"])
    category: Literal[CATEGORY_VALUES] = Field(
        examples=["Home & Garden"],  # type: ignore[valid-type]
        description="a top-level Google product taxonomy category, by name or id",
    )
    price: float = Field(gt=0, le=1_000_000, examples=[25.0])
    unit_cost: float = Field(ge=0, le=1_000_000, examples=[10.0])
    description: str = Field("", max_length=5000)
    target_ages: list[str] = Field(default_factory=list, max_length=6, examples=[["25_34", "35_44"]])
    ships_from: str | None = Field(None, max_length=200, examples=["Istanbul, TR"])
    shipping_paid_by: ShippingPayer = Field(
        ProductInput.model_fields["shipping_paid_by"].default,
        description="buyer: the price excludes shipping (demand responds to price + parcel); seller: free shipping",
    )
    climate: ClimateChoice = Field(
        "auto",
        description="cold / warm-weather product, none, or auto: read from the "
        "name and description (the response's product says what was used)",
    )
    season_months: list[int] | None = Field(
        None,
        max_length=12,
        description="calendar season months, e.g. [11, 12] "
        "for Christmas; [] = none; null = read from the name and description",
    )
    launch_month: int | None = Field(
        None, ge=1, le=12, description="rank by this month's sales (null: the average month)"
    )
    countries: list[str] = Field(default_factory=list, max_length=250, description="ISO codes; empty = world")
    top: int | None = Field(None, ge=1, le=1000, description="cities to keep (at most the plan's)")


class AgentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    budget: float | None = Field(None, gt=0, le=10_000_000, description="monthly ad budget, USD")


class DeepReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    forecast_id: str = Field(min_length=1, max_length=64)
    report_type: Literal[REPORT_TYPES] = Field(
        "standard",  # type: ignore[valid-type]
        description="standard ($10), premium ($25) or enterprise ($50)",
    )


def _json_value(v: Any) -> Any:
    v = v.item() if hasattr(v, "item") else v
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _cities(table) -> list[dict]:
    cols = [c for c in CITY_FIELDS if c in table.columns]
    return [
        {k: _json_value(v) for k, v in r.items()} for r in exports.rounded(table[cols]).to_dict("records")
    ]


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

    def writer(self):
        from agents.writers import make_writer

        return make_writer(self.settings)


class RequestMetrics:
    """Pure ASGI middleware: every HTTP request counted by method, route template (never the raw path, which
    holds ids) and status, and timed (core.telemetry)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            telemetry.API_REQUESTS.labels(method=method, route=template, status=str(status["code"])).inc()
            telemetry.API_LATENCY.labels(method=method, route=template).observe(time.perf_counter() - start)


class _RateLimitedError(Exception):
    def __init__(self, decision: ratelimit.RateDecision) -> None:
        super().__init__("rate limited")
        self.decision = decision


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


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
        raise _RateLimitedError(d)
    return user


User = Annotated[UserInfo, Depends(client)]


def create_app(settings: Settings | None = None, db: records.Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    services = Services(settings, db or records.connect(settings.database_url))
    app = FastAPI(
        title="AI-Commerce Intelligence Platform API",
        version=__version__,
        description="Rank the world's cities for a product, run the five agents, export and buy deep reports. "
        "Authenticate with `Authorization: Bearer <API key>` (Account page or "
        "`python -m core users api-key create`). Pro and Master plans have API access.",
        responses=ERRORS,
    )
    app.state.services = services
    app.add_middleware(BodyGuard, services=services, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestMetrics)
    telemetry.setup_tracing("aicommerce-api")
    telemetry.instrument_api(app)
    telemetry.setup_error_tracking(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
        settings.sentry_environment,
        __version__,
    )

    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        status = {
            AuthError: 401,
            InputError: 422,
            LimitError: 403,
            AccessError: 404,
            DatabaseError: 503,
            billing.BillingError: 502,
        }.get(type(exc), 400)
        if status == 401:
            return _error(401, str(exc), {"WWW-Authenticate": "Bearer"})
        if isinstance(exc, DatabaseError):
            log.error(
                "API: %s", exc.detail or exc
            )  # where and what, for the operator; the client gets the message
        return _error(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(
            422,
            f"{where}: {first.get('msg', 'invalid request')}"
            if where
            else str(first.get("msg", "invalid request")),
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:8]
        log.exception("api error ref %s", ref)
        telemetry.capture(exc)
        return _error(500, f"something went wrong (ref {ref}); the log has the detail")

    @app.exception_handler(_RateLimitedError)
    async def limited(_request: Request, exc: _RateLimitedError) -> JSONResponse:
        telemetry.RATE_LIMITED.inc()
        return _error(
            429,
            f"over {exc.decision.limit} requests a minute on this plan; retry in {exc.decision.retry_after} s",
            {
                "Retry-After": str(exc.decision.retry_after),
                "X-RateLimit-Limit": str(exc.decision.limit),
                "X-RateLimit-Remaining": "0",
            },
        )

    def _table(user: UserInfo, forecast_id: str):
        """A stored ranking as the app shows it to this user: at most the plan's cities (a forecast saved on
        a bigger plan is cut to the current one, as on the Results page)."""
        record = records.load_forecast(services.db, forecast_id, user.id)
        return record, result_table(record, services.ca).head(result_limit(user))

    @app.get("/metrics", tags=["meta"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics of this API process (requests, latency, rate-limit refusals, webhooks, forecasts).
        No user data: restrict the path at the proxy if the numbers themselves are private."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", tags=["meta"])
    def health() -> dict:
        services.db.check()
        return {"status": "ok", "version": __version__}

    @app.post("/api/v1/forecasts", status_code=201, tags=["forecasts"])
    def create_forecast(body: ForecastIn, user: User) -> dict:
        """Rank every city for the product; returns the id and the ranking within the plan's top-N."""
        product = validate_product(**body.model_dump(exclude={"countries", "top"}))
        forecast_id = run_forecast(
            services.db,
            services.ca,
            product,
            body.countries or None,
            user=user,
            store_top=body.top,
            interface="api",
        )
        _record, table = _table(user, forecast_id)
        return {
            "id": forecast_id,
            "status": "completed",
            "plan": user.tier,
            "warnings": [w for w in [product.cost_warning] if w],
            "cities": _cities(table),
        }

    @app.get("/api/v1/forecasts", tags=["forecasts"])
    def list_forecasts(
        user: User,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict:
        """Your forecasts, newest first, paged."""
        items = records.list_forecasts(services.db, user.id)
        chunk = items[(page - 1) * per_page : page * per_page]
        return {
            "page": page,
            "per_page": per_page,
            "total": len(items),
            "items": [
                {
                    "id": f.id,
                    "product_name": f.product_name,
                    "category": f.category,
                    "price": f.price,
                    "unit_cost": f.unit_cost,
                    "countries": f.countries,
                    "created_at": f.created_at.isoformat(),
                    "status": f.status,
                    "cities": f.n_results,
                }
                for f in chunk
            ],
        }

    @app.get("/api/v1/forecasts/{forecast_id}", tags=["forecasts"])
    def get_forecast(forecast_id: str, user: User) -> dict:
        record, table = _table(user, forecast_id)
        return {
            "id": record.id,
            "status": "completed",
            "product": record.product,
            "countries": list(record.params.get("countries") or []),
            "created_at": record.created_at.isoformat(),
            "cities": _cities(table),
        }

    @app.get(
        "/api/v1/forecasts/{forecast_id}/export.csv",
        tags=["forecasts"],
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}}},
    )
    def export_csv(forecast_id: str, user: User) -> Response:
        _record, table = _table(user, forecast_id)
        return Response(
            export_service.csv_for(user.plan, table),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="forecast_{forecast_id[:8]}.csv"'},
        )

    @app.get(
        "/api/v1/forecasts/{forecast_id}/export.pdf",
        tags=["forecasts"],
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}},
    )
    def export_pdf(forecast_id: str, user: User) -> Response:
        from core.accounts import branding

        record, table = _table(user, forecast_id)
        product = product_from_params(record.params)
        report = reports.ranking_report(
            prepare(services.ca, product),
            table,
            records.load_agent_results(services.db, forecast_id),
            price=product.price,
            cost=product.unit_cost,
            weights=product.weights,
            depth=user.plan.report_depth,
            scope=list(record.params.get("countries") or []),
            branding=branding.for_reports(services.db, user),
        )
        return Response(
            export_service.pdf_for(user.plan, report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="forecast_{forecast_id[:8]}.pdf"'},
        )

    @app.post("/api/v1/forecasts/{forecast_id}/agents", tags=["agents"])
    def run_forecast_agents(forecast_id: str, user: User, body: AgentsIn | None = None) -> dict:
        """Run the five agents at the plan's report depth; returns their results as the CLI does. Each run
        counts as one forecast against the monthly quota (it costs as much as one, and stores its logs)."""
        from agents.context import AgentContext
        from agents.runner import run_agents

        record = records.load_forecast(services.db, forecast_id, user.id)  # not yours: 404, nothing counted
        reserve_forecast(services.db, user)  # over the quota: 403 with the plan's message
        log.info("agents rerun for forecast %s by user %s (counted against the quota)", forecast_id, user.id)
        product = product_from_params(record.params)
        request = {
            "product": product.model_dump(mode="json"),
            "countries": list(record.params.get("countries") or []) or None,
            "budget": body.budget if body else None,
            "depth": user.plan.report_depth,
            "cities": user.plan.max_cities,
        }
        return run_agents(
            AgentContext(services.ca, services.writer()), request, db=services.db, forecast_id=forecast_id
        )

    @app.post("/api/v1/reports/deep", status_code=201, tags=["reports"])
    def buy_deep_report(body: DeepReportIn, user: User) -> dict:
        """Buy a deep report of a forecast: a Stripe Checkout URL to pay, or (demo mode) the finished report."""
        info = deep_reports.create(services.db, services.settings, user, body.forecast_id, body.report_type)
        if info.status == "paid":  # demo mode: paid at once, built now
            from agents.deep_report import build

            info = build(services.db, services.ca, services.writer(), info.id, user.id)
        return info.as_dict()

    @app.get("/api/v1/reports/{report_id}", tags=["reports"])
    def get_deep_report(report_id: str, user: User) -> dict:
        return deep_reports.get(services.db, user.id, report_id).as_dict()

    @app.get(
        "/api/v1/reports/{report_id}/pdf",
        tags=["reports"],
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}},
    )
    def deep_report_pdf(report_id: str, user: User) -> Response:
        """The stored PDF (built on first download once Stripe has confirmed the payment)."""
        info = deep_reports.get(services.db, user.id, report_id)
        if info.status == "paid":
            from agents.deep_report import build

            info = build(services.db, services.ca, services.writer(), report_id, user.id)
        if info.status != "ready":
            raise LimitError(
                f"this deep report is {info.status.replace('_', ' ')}; pay for it first"
                if info.status == "pending_payment"
                else "this deep report could not be built; contact support"
            )
        content = deep_reports.pdf(services.db, user.id, report_id) or b""
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="deep_report_{report_id[:8]}.pdf"'},
        )

    @app.get("/api/v1/subscriptions/me", tags=["account"])
    def subscription(user: User) -> dict:
        """Your plan, its status, this month's usage and the plan's limits."""
        now = datetime.now(UTC)
        t = user.plan
        return {
            "email": user.email,
            "plan": t.name,
            "status": user.status,
            "usage": {"period": period_of(now), "forecasts": forecasts_used(services.db, user.id, now)},
            "limits": {
                "forecasts_per_month": t.forecasts_per_month,
                "max_cities": t.max_cities,
                "report_depth": t.report_depth,
                "api_requests_per_minute": t.api_requests_per_minute,
            },
        }

    @app.post("/webhook", tags=["billing"], include_in_schema=False)
    async def webhook(request: Request) -> JSONResponse:
        """Stripe events: signature-checked, applied once (core.billing.handle_webhook)."""
        raw = request.headers.get("content-length")
        if raw is None or not raw.strip().isdigit():
            return _error(411 if raw is None else 400, "a valid Content-Length is required")
        if int(raw) > billing.MAX_WEBHOOK_BYTES:
            return _error(413, f"body over {billing.MAX_WEBHOOK_BYTES // 1024} kB")
        body = await request.body()
        from starlette.concurrency import run_in_threadpool

        result = await run_in_threadpool(
            billing.handle_webhook,
            services.db,
            services.settings,
            body,
            request.headers.get("stripe-signature"),
        )
        telemetry.WEBHOOK_EVENTS.labels(outcome=telemetry.webhook_outcome(result.status)).inc()
        return JSONResponse({"message": result.message}, status_code=result.status)

    return app
