"""Stripe billing: checkout links, confirmation on return, webhooks, reconciliation.

The tier changes only after Stripe confirms (a retrieved Checkout Session, or a signature-verified
webhook event), never from anything the browser sends. With no Stripe settings the app is in demo
mode and none of this runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import accounts
from core.accounts import audit
from core.accounts.tiers import get_tier
from core.db import models
from core.db.database import Database
from core.errors import AppError, InputError
from core.settings import Settings

log = logging.getLogger(__name__)

PAID_TIERS = ("basic", "pro", "master")
PAID_STATUSES = (
    "paid",
    "no_payment_required",
)  # a Checkout Session's payment_status that grants what it sold


class BillingError(AppError):
    """Stripe refused, is unreachable, or did not confirm."""


def client(settings: Settings) -> stripe.StripeClient:
    if settings.stripe_secret_key is None:
        raise BillingError("Stripe is not configured (STRIPE_SECRET_KEY); the app is in demo mode")
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(),
        base_addresses=base,
        max_network_retries=1,  # type: ignore[arg-type]
    )


def price_id(settings: Settings, tier: str) -> str | None:
    return getattr(settings, f"stripe_price_{tier}", None)


def price_to_tier(settings: Settings) -> dict[str, str]:
    return {p: t for t in PAID_TIERS if (p := price_id(settings, t))}


def mode(settings: Settings) -> str:
    """'checkout' (secret key + price IDs), 'links' (Payment Links), 'demo' (DEMO_MODE, simulated) or
    'none' (no payments configured: an admin sets plans)."""
    if settings.stripe_secret_key is not None and all(price_id(settings, t) for t in PAID_TIERS):
        return "checkout"
    if any(getattr(settings, f"stripe_link_{t}") for t in PAID_TIERS):
        return "links"
    return "demo" if settings.is_demo else "none"


def demo_change_plan(
    db: Database, settings: Settings, user: accounts.UserInfo, tier: str
) -> accounts.UserInfo:
    """Demo mode's simulated purchase: the plan changes at once, audited as "demo" (README: demo mode
    simulates upgrades). Refused unless the app is in demo mode, so it can never skip a real payment."""
    get_tier(tier)
    if mode(settings) != "demo":
        log.warning("simulated plan change to %s refused for user %s: not in demo mode", tier, user.id)
        raise BillingError(
            "plans are bought through Stripe on this server; simulated upgrades exist only in demo mode"
        )
    changed = accounts.update_user(db, user.email, tier=tier, source="demo")
    log.info("demo mode: user %s switched from %s to %s (simulated, no payment)", user.id, user.tier, tier)
    return changed


def upgrade_url(settings: Settings, user: accounts.UserInfo, tier: str) -> str:
    """Where the user pays for ``tier``: a new Checkout Session, or the tier's Payment Link."""
    get_tier(tier)
    how = mode(settings)
    if how == "checkout":
        try:
            session = client(settings).v1.checkout.sessions.create(
                params={
                    "mode": "subscription",
                    "line_items": [{"price": price_id(settings, tier), "quantity": 1}],
                    "client_reference_id": user.id,
                    "metadata": {"user_id": user.id, "tier": tier},
                    # on the subscription too: its events then name the user even when they arrive before
                    # the checkout's (Stripe does not promise the order)
                    "subscription_data": {"metadata": {"user_id": user.id, "tier": tier}},
                    "customer_email": user.email,
                    "success_url": f"{settings.app_base_url}/account?session_id={{CHECKOUT_SESSION_ID}}",
                    "cancel_url": f"{settings.app_base_url}/account?checkout=cancelled",
                }
            )
        except stripe.StripeError as exc:
            raise BillingError(f"Stripe could not start the checkout: {exc.user_message or exc}") from exc
        return str(session.url)
    if how == "links":
        link = getattr(settings, f"stripe_link_{tier}")
        if not link:
            raise BillingError(
                f"no Payment Link is configured for the {tier} plan (STRIPE_LINK_{tier.upper()})"
            )
        query = urlencode({"client_reference_id": user.id, "prefilled_email": user.email})
        return f"{link}{'&' if '?' in link else '?'}{query}"
    raise BillingError(
        "payments are not configured on this server; an administrator sets plans on the Admin page"
    )


def _upsert_subscription(
    s: Session,
    user_id: str,
    tier: str,
    status: str,
    sub_id: str | None,
    customer: str | None,
    period: tuple[int | None, int | None] = (None, None),
) -> None:
    start, end = (
        datetime.fromtimestamp(t, UTC) if isinstance(t, int | float) and t else None for t in period
    )
    row = (
        s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
        if sub_id
        else None
    )
    if row is None:
        row = models.Subscription(
            user_id=user_id, stripe_subscription_id=sub_id, plan_type=tier, status=status
        )
        s.add(row)
    row.plan_type, row.status, row.stripe_customer_id = tier, status, customer or row.stripe_customer_id
    row.current_period_start = start or row.current_period_start
    row.current_period_end = end or row.current_period_end
    u = s.get(models.User, user_id)
    if u is not None:
        u.subscription_tier = tier if status in ("active", "trialing", "past_due") else "basic"
        u.subscription_status = status


def _apply_completed_session(s: Session, session: dict) -> str:
    """Apply a completed Checkout Session (from retrieval or a webhook). Returns the tier."""
    meta = _dict(session.get("metadata"))
    user_id = session.get("client_reference_id") or meta.get("user_id")
    tier = meta.get("tier")
    if not isinstance(user_id, str) or tier not in PAID_TIERS:
        raise BillingError("the checkout session carries no user reference or plan")
    if s.get(models.User, user_id) is None:
        raise BillingError("the checkout session refers to an unknown user")
    _upsert_subscription(
        s, user_id, tier, "active", _str(session.get("subscription")), _str(session.get("customer"))
    )
    audit(s, None, user_id, "plan", tier, source="stripe checkout")
    return tier


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def confirm_checkout(db: Database, settings: Settings, session_id: str, user: accounts.UserInfo) -> str:
    """On return from Stripe: retrieve the session and apply its plan if Stripe says it is paid."""
    if not session_id.startswith("cs_"):
        raise InputError("that is not a Checkout Session id", field="session_id")
    try:
        session = client(settings).v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise BillingError(f"Stripe could not confirm the checkout: {exc.user_message or exc}") from exc
    data = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    if data.get("status") != "complete" or data.get("payment_status") not in PAID_STATUSES:
        raise BillingError("Stripe has not confirmed this payment yet; the plan is unchanged")
    if data.get("client_reference_id") != user.id:
        raise BillingError("this checkout belongs to another account; the plan is unchanged")
    with db.session() as s:
        tier = _apply_completed_session(s, data)
    log.info("checkout %s confirmed on return: user %s -> %s", session_id, user.id, tier)
    return tier


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


class UnappliedEventError(BillingError):
    """A valid event that cannot be applied now (its subscription or user is not known yet, its price maps
    to no plan): not recorded as processed, so Stripe delivers it again and ``billing sync`` can recover."""


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


CheckoutHandler = Callable[[Session, dict], str]
# What a completed Checkout Session buys, by its metadata "kind": each product that is sold through a
# one-off checkout registers its handler here (white-label below, deep reports in core.billing.deep_reports),
# so the webhook router needs no import of every product it sells.
CHECKOUT_HANDLERS: dict[str, CheckoutHandler] = {}


def register_checkout_handler(purpose: str, handler: CheckoutHandler) -> None:
    """Apply ``handler(session, checkout_session)`` to completed checkouts whose metadata kind is ``purpose``."""
    CHECKOUT_HANDLERS[purpose] = handler


def _apply_event(s: Session, settings: Settings, kind: str, obj: dict) -> str:
    if kind == "checkout.session.async_payment_failed":
        return "asynchronous payment failed: nothing granted"
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") not in PAID_STATUSES:
            # a delayed payment method (bank debit ...): granted when async_payment_succeeded arrives
            return (
                f"checkout completed with payment_status {obj.get('payment_status')!r}: nothing granted yet"
            )
        purpose = _dict(obj.get("metadata")).get("kind")
        if purpose is None:
            return f"tier set to {_apply_completed_session(s, obj)}"
        handler = CHECKOUT_HANDLERS.get(str(purpose))
        if (
            handler is None
        ):  # an add-on whose module is not loaded: not applied, so not recorded (Stripe retries)
            raise RuntimeError(f"no handler registered for checkout purpose {purpose!r}")
        return handler(s, obj)
    if kind in ("customer.subscription.updated", "customer.subscription.deleted"):
        return _apply_subscription(s, settings, obj, deleted=kind.endswith("deleted"))
    if kind == "invoice.payment_failed":
        details = _dict(_dict(obj.get("parent")).get("subscription_details"))
        sub_id = _str(obj.get("subscription")) or _str(details.get("subscription"))
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


def _apply_white_label(s: Session, obj: dict) -> str:
    user_id = _dict(obj.get("metadata")).get("user_id") or obj.get("client_reference_id")
    if not isinstance(user_id, str) or s.get(models.User, user_id) is None:
        raise BillingError("the checkout session refers to an unknown user")
    row = s.get(models.Branding, user_id) or models.Branding(
        user_id=user_id, company_name="", colour="#1F4E79"
    )
    row.active = True
    s.add(row)
    return "white-label add-on activated"


register_checkout_handler("white_label", _apply_white_label)


def white_label_url(settings: Settings, user: accounts.UserInfo) -> str | None:
    """Checkout for the white-label add-on (subscription, STRIPE_PRICE_WHITE_LABEL); None in demo mode,
    where the caller activates it at once."""
    how = mode(settings)
    if how == "demo":
        return None
    if how != "checkout" or not settings.stripe_price_white_label:
        raise BillingError(
            "the white-label add-on is sold through Stripe Checkout (STRIPE_SECRET_KEY and "
            "STRIPE_PRICE_WHITE_LABEL); this server has neither"
        )
    try:
        session = client(settings).v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": settings.stripe_price_white_label, "quantity": 1}],
                "client_reference_id": user.id,
                "metadata": {"kind": "white_label", "user_id": user.id},
                "subscription_data": {"metadata": {"kind": "white_label", "user_id": user.id}},
                "customer_email": user.email,
                "success_url": f"{settings.app_base_url}/account?white_label=ok",
                "cancel_url": f"{settings.app_base_url}/account?checkout=cancelled",
            }
        )
    except stripe.StripeError as exc:
        raise BillingError(f"Stripe could not start the checkout: {exc.user_message or exc}") from exc
    return str(session.url)


def _apply_subscription(s: Session, settings: Settings, obj: dict, deleted: bool) -> str:
    meta = _dict(obj.get("metadata"))
    if meta.get("kind") == "white_label":  # the add-on's own subscription, not the plan
        row = s.get(models.Branding, _str(meta.get("user_id")) or "")
        if row is None:
            return "no matching white-label add-on"
        row.active = not deleted and obj.get("status") in ("active", "trialing", "past_due")
        return f"white-label add-on {'active' if row.active else 'inactive'}"
    sub_id = _str(obj.get("id"))
    row = (
        s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
        if sub_id
        else None
    )
    user_id = row.user_id if row else _str(_dict(obj.get("metadata")).get("user_id"))
    if not user_id or s.get(models.User, user_id) is None:
        raise UnappliedEventError("no stored subscription and no user in its metadata (yet)")
    if deleted:
        _upsert_subscription(s, user_id, "basic", "cancelled", sub_id, _str(obj.get("customer")))
        audit(s, None, user_id, "plan", "basic", source="stripe subscription deleted")
        return "subscription cancelled: back to basic"
    items = _dict(obj.get("items")).get("data")
    prices = (
        [_dict(i.get("price")).get("id") for i in items if isinstance(i, dict)]
        if isinstance(items, list)
        else []
    )
    tiers = [price_to_tier(settings)[p] for p in prices if p in price_to_tier(settings)]
    if not tiers:
        raise UnappliedEventError(
            f"the subscription's price ({', '.join(map(str, prices)) or 'none'}) maps to no plan: "
            "set STRIPE_PRICE_BASIC / _PRO / _MASTER"
        )
    status = {"active": "active", "trialing": "active", "past_due": "past_due"}.get(
        str(obj.get("status", "")), "cancelled"
    )
    _upsert_subscription(
        s,
        user_id,
        tiers[0],
        status,
        sub_id,
        _str(obj.get("customer")),
        (obj.get("current_period_start"), obj.get("current_period_end")),
    )
    audit(
        s,
        None,
        user_id,
        "plan",
        tiers[0] if status != "cancelled" else "basic",
        source=f"stripe subscription {status}",
    )
    return f"subscription {status}: {tiers[0]}"


def sync(db: Database, settings: Settings) -> list[str]:
    """Reconcile every stored subscription with Stripe (status and plan)."""
    c = client(settings)
    with db.session() as s:
        subs = [
            r.stripe_subscription_id
            for r in s.scalars(select(models.Subscription))
            if r.stripe_subscription_id
        ]
    out = []
    for sub_id in subs:
        try:
            sub = c.v1.subscriptions.retrieve(sub_id)
        except stripe.StripeError as exc:
            out.append(f"{sub_id}: {exc.user_message or exc}")
            continue
        data = sub.to_dict() if hasattr(sub, "to_dict") else dict(sub)
        with db.session() as s:
            out.append(
                f"{sub_id}: "
                + _apply_subscription(s, settings, data, deleted=data.get("status") == "canceled")
            )
    return out
