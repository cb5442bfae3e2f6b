"""Stripe's webhook as a use case: the event applied (core.billing.handle_webhook), then the work a payment
starts -- a deep report paid through Checkout is queued for its build at once, not at the next look."""

from __future__ import annotations

import json
import logging

from core.billing import WebhookResult, deep_reports, handle_webhook
from core.db.database import Database
from core.errors import AppError
from core.services import jobs
from core.settings import Settings

log = logging.getLogger(__name__)


def receive_webhook(db: Database, settings: Settings, payload: bytes, signature: str | None) -> WebhookResult:
    """Apply one signed Stripe event; when it paid for a deep report, queue the report's build."""
    result = handle_webhook(db, settings, payload, signature)
    if result.status == 200:
        _queue_paid_report(db, settings, payload)
    return result


def _queue_paid_report(db: Database, settings: Settings, payload: bytes) -> None:
    """The event was verified and applied: a checkout for a deep report now paid starts its build job (the
    job id is the report's, so a later look at the report finds this job instead of queuing another)."""
    obj = json.loads(payload)["data"]["object"]
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if meta.get("kind") != "deep_report":
        return
    report_id = meta.get("deep_report_id")
    user_id = deep_reports.owner(db, report_id)
    if user_id is None:
        return
    try:
        job = jobs.build_deep_report(db, settings, user_id, str(report_id))
    except AppError as exc:  # the queue is down: the next look at the report queues it (logged)
        log.warning("deep report %s paid, build not queued (queued on the next look): %s", report_id, exc)
        return
    if job is not None:
        log.info("deep report %s paid through the webhook: build job %s %s", report_id, job.id, job.status)
