"""Health and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import Svc
from core import __version__, telemetry
from core.services import jobs

log = logging.getLogger(__name__)

router = APIRouter(tags=["meta"])


@router.get("/metrics", include_in_schema=False)
def metrics(services: Svc) -> Response:
    """Prometheus metrics of this API process (requests, latency, rate-limit refusals, webhooks, forecasts)
    and the job queue's depth, read at each scrape. No user data: restrict the path at the proxy if the
    numbers themselves are private."""
    try:
        for state, n in jobs.queue_depth(services.db, services.settings).items():
            telemetry.JOB_QUEUE.labels(state=state).set(n)
    except Exception as exc:  # the queue down must not take the other metrics with it
        log.warning("metrics: the job queue could not be read (%s)", type(exc).__name__)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/health")
def health(services: Svc) -> dict:
    services.db.check()
    return {"status": "ok", "version": __version__}
