"""Health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import Svc
from core import __version__

router = APIRouter(tags=["meta"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics of this API process (requests, latency, rate-limit refusals, webhooks, forecasts).
    No user data: restrict the path at the proxy if the numbers themselves are private."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/health")
def health(services: Svc) -> dict:
    services.db.check()
    return {"status": "ok", "version": __version__}
