"""Stripe webhooks: signature-checked, each event applied once (its id recorded in the same transaction), failures\nlisted for the operator; completed checkouts are routed by their metadata kind to the handler a product registered\n(core.billing.checkout)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.billing.checkout import CHECKOUT_HANDLERS, apply_completed_session
from core.billing.subscriptions import PAID_STATUSES, UnappliedEventError, apply_subscription, as_dict, as_str
from core.db import models
from core.db.database import Database
from core.errors import AppError
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


MAX_WEBHOOK_BYTES = 1024 * 1024  # Stripe events are a few kB; anything larger is refused unread


TIMESTAMP_TOLERANCE_S = 300  # Stripe's default, applied to the past (by the library) and the future (here)


def _signature_time(signature: str | None) -> int | None:
    for part in (signature or "").split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t" and value.strip().isdigit():
            return int(value)
    return None


def handle_webhook(
    db: Database, settings: Settings, payload: bytes, signature: str | None, now: float | None = None
) -> WebhookResult:
    """Verify, de-duplicate and apply one Stripe event.

    A bad signature, a stale or future timestamp or a malformed event changes nothing (400). The event
    is applied and its id recorded in one transaction: an event that fails to apply is not recorded,
    and the non-2xx answer (400 for a malformed event, 500 for anything unexpected) makes Stripe retry.
    """
    if settings.stripe_webhook_secret is None:
        return WebhookResult(400, "STRIPE_WEBHOOK_SECRET is not set")
    try:  # the signature over the raw bytes first; the body is parsed only once it is Stripe's
        stripe.WebhookSignature.verify_header(
            payload,
            signature,
            settings.stripe_webhook_secret.get_secret_value(),
            tolerance=TIMESTAMP_TOLERANCE_S,
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        log.warning("webhook refused: invalid payload or signature (%s)", type(exc).__name__)
        return WebhookResult(400, "invalid payload or signature")
    sent = _signature_time(signature)
    if sent is None or sent > (now or time.time()) + TIMESTAMP_TOLERANCE_S:
        log.warning("webhook refused: timestamp in the future (%s)", sent)
        return WebhookResult(400, "timestamp outside the tolerance")
    try:
        data = json.loads(payload)
        event_id, kind, obj = data["id"], data["type"], data["data"]["object"]
        if not (isinstance(event_id, str) and isinstance(kind, str) and isinstance(obj, dict)):
            raise TypeError("id, type or data.object has the wrong type")
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # a list or a scalar is not an event either
        log.warning("webhook refused: malformed event (%s)", type(exc).__name__)
        return WebhookResult(400, "malformed event: it needs id, type and data.object")
    try:
        with db.session() as s:
            _claim(s, event_id, kind)
            message = _apply_event(s, settings, kind, obj)  # a failure rolls the claim back too
    except _AlreadyProcessedError:
        log.info("webhook %s (%s): already processed", event_id, kind)
        return WebhookResult(200, f"event {event_id} already processed")
    except UnappliedEventError as exc:
        log.warning(
            "webhook %s (%s) not applied yet, not recorded (Stripe retries; billing sync recovers): %s",
            event_id,
            kind,
            exc,
        )
        return _failed(db, event_id, kind, 409, f"not applied yet: {exc}")
    except AppError as exc:
        log.warning("webhook %s (%s) not applied: %s", event_id, kind, exc)
        return _failed(db, event_id, kind, 400, str(exc))
    except Exception:
        log.exception("webhook %s (%s) failed; not recorded, Stripe will retry", event_id, kind)
        return _failed(
            db, event_id, kind, 500, "the event could not be applied; it was not recorded and can be retried"
        )
    _resolved(db, event_id)
    log.info("webhook %s (%s): %s", event_id, kind, message)
    return WebhookResult(200, message)


def _failed(db: Database, event_id: str, kind: str, status: int, reason: str) -> WebhookResult:
    """Keep a failed event with its reason for admins (one row per event, attempts counted); the answer
    Stripe gets is unchanged. Recording it must not turn the answer into another error."""
    try:
        with db.session() as s:
            row = s.get(models.FailedEvent, event_id)
            now = datetime.now(UTC)
            if row is None:
                s.add(
                    models.FailedEvent(
                        id=event_id,
                        type=kind,
                        reason=reason[:500],
                        status=status,
                        attempts=1,
                        first_at=now,
                        last_at=now,
                    )
                )
            else:
                row.reason, row.status, row.attempts, row.last_at = (
                    reason[:500],
                    status,
                    row.attempts + 1,
                    now,
                )
                row.resolved_at = None
    except Exception:  # the database may be the reason the event failed
        log.exception("webhook %s: the failure could not be recorded", event_id)
    return WebhookResult(status, reason)


def _resolved(db: Database, event_id: str) -> None:
    """A later delivery of a failed event applied: mark it resolved."""
    with db.session() as s:
        row = s.get(models.FailedEvent, event_id)
        if row is not None and row.resolved_at is None:
            row.resolved_at = datetime.now(UTC)
            log.info("webhook %s: applied after %d failed attempt(s)", event_id, row.attempts)


def failed_events(db: Database, include_resolved: bool = False, limit: int = 100) -> list[dict]:
    """Signed Stripe events that could not be applied, newest first (the Admin page)."""
    with db.session() as s:
        q = select(models.FailedEvent).order_by(models.FailedEvent.last_at.desc()).limit(limit)
        if not include_resolved:
            q = q.where(models.FailedEvent.resolved_at.is_(None))
        return [
            {
                "event": r.id,
                "type": r.type,
                "answer": r.status,
                "reason": r.reason,
                "attempts": r.attempts,
                "first": r.first_at,
                "last": r.last_at,
                "resolved": r.resolved_at,
            }
            for r in s.scalars(q)
        ]


class _AlreadyProcessedError(Exception):
    """The event id was recorded by an earlier (or a concurrent) delivery."""


def _claim(s: Session, event_id: str, kind: str) -> None:
    """Record the event id first in this transaction (rolled back with it if applying fails); raise
    _AlreadyProcessedError when it is recorded already. Only this insert's unique-key error means a duplicate:
    an integrity error while applying is a failure (500), not a duplicate."""
    if s.get(models.ProcessedEvent, event_id) is not None:
        raise _AlreadyProcessedError
    s.add(models.ProcessedEvent(id=event_id, type=kind))
    try:
        s.flush()
    except IntegrityError as exc:
        raise _AlreadyProcessedError from exc


def _apply_event(s: Session, settings: Settings, kind: str, obj: dict) -> str:
    if kind == "checkout.session.async_payment_failed":
        return "asynchronous payment failed: nothing granted"
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") not in PAID_STATUSES:
            # a delayed payment method (bank debit ...): granted when async_payment_succeeded arrives
            return (
                f"checkout completed with payment_status {obj.get('payment_status')!r}: nothing granted yet"
            )
        purpose = as_dict(obj.get("metadata")).get("kind")
        if purpose is None:
            return f"tier set to {apply_completed_session(s, obj)}"
        handler = CHECKOUT_HANDLERS.get(str(purpose))
        if (
            handler is None
        ):  # an add-on whose module is not loaded: not applied, so not recorded (Stripe retries)
            raise RuntimeError(f"no handler registered for checkout purpose {purpose!r}")
        return handler(s, obj)
    if kind in ("customer.subscription.updated", "customer.subscription.deleted"):
        return apply_subscription(s, settings, obj, deleted=kind.endswith("deleted"))
    if kind == "invoice.payment_failed":
        details = as_dict(as_dict(obj.get("parent")).get("subscription_details"))
        sub_id = as_str(obj.get("subscription")) or as_str(details.get("subscription"))
        row = (
            s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
            if sub_id
            else None
        )
        if row is None:
            raise UnappliedEventError("payment failed for a subscription that is not stored (yet)")
        row.status = "past_due"
        u = s.get(models.User, row.user_id)
        if u is not None:
            u.subscription_status = "past_due"
        return "subscription marked past_due"
    return f"ignored {kind}"
