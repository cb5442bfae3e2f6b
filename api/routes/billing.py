"""The Stripe webhook."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import Svc
from api.errors import error
from core import billing, telemetry
from core.services import payments

router = APIRouter(tags=["billing"])


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request, services: Svc) -> JSONResponse:
    """Stripe events: signature-checked, applied once (core.billing.handle_webhook); a paid deep report's
    build is queued at once (core.services.payments)."""
    raw = request.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return error(411 if raw is None else 400, "a valid Content-Length is required")
    if int(raw) > billing.MAX_WEBHOOK_BYTES:
        return error(413, f"body over {billing.MAX_WEBHOOK_BYTES // 1024} kB")
    body = await request.body()
    result = await run_in_threadpool(
        payments.receive_webhook,
        services.db,
        services.settings,
        body,
        request.headers.get("stripe-signature"),
    )
    telemetry.WEBHOOK_EVENTS.labels(outcome=telemetry.webhook_outcome(result.status)).inc()
    return JSONResponse({"message": result.message}, status_code=result.status)
