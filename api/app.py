"""FastAPI application: ``create_app()``; OpenAPI docs at /docs, schema at /openapi.json.

The app is assembled here from its parts: the shapes (api.schemas), the shared dependencies (api.deps),
the error answers (api.errors), the middleware (api.guard, api.middleware) and one router per resource
(api.routes)."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.deps import Services
from api.guard import BodyGuard
from api.middleware import RequestMetrics
from api.routes import account, agents, billing, custom_cities, forecasts, jobs, meta, reports
from api.schemas import ERRORS
from core import __version__, telemetry
from core.services import records
from core.settings import Settings, load_settings

DESCRIPTION = (
    "Rank the world's cities for a product, run the five agents, export and buy deep reports. "
    "Authenticate with `Authorization: Bearer <API key>` (Account page or "
    "`python -m core users api-key create`). Pro and Master plans have API access."
)


def create_app(settings: Settings | None = None, db: records.Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    services = Services(settings, db or records.connect(settings.database_url))
    app = FastAPI(
        title="AI-Commerce Intelligence Platform API",
        version=__version__,
        description=DESCRIPTION,
        responses=ERRORS,
    )
    app.state.services = services
    app.add_middleware(BodyGuard, services=services, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestMetrics)
    telemetry.setup_tracing("aicommerce-api")
    telemetry.instrument_api(app)
    dsn = settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None
    telemetry.setup_error_tracking(dsn, settings.sentry_environment, __version__)
    errors.install(app)
    for module in (meta, forecasts, agents, jobs, reports, custom_cities, account, billing):
        app.include_router(module.router)
    return app
