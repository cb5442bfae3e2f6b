"""Stripe billing: checkout links, confirmation on return, webhooks, reconciliation.

The tier changes only after Stripe confirms (a retrieved Checkout Session, or a signature-verified
webhook event), never from anything the browser sends. With no Stripe settings the app is in demo
mode and none of this runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import accounts
from core.db import models
from core.db.database import Database
from core.errors import AppError, InputError
from core.settings import Settings
from core.tiers import get_tier

PAID_TIERS = ("basic", "pro", "master")


class BillingError(AppError):
    """Stripe refused, is unreachable, or did not confirm."""


def client(settings: Settings) -> stripe.StripeClient:
    if settings.stripe_secret_key is None:
        raise BillingError("Stripe is not configured (STRIPE_SECRET_KEY); the app is in demo mode")
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(), base_addresses=base, max_network_retries=1  # type: ignore[arg-type]
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
            raise BillingError(f"no Payment Link is configured for the {tier} plan (STRIPE_LINK_{tier.upper()})")
        query = urlencode({"client_reference_id": user.id, "prefilled_email": user.email})
        return f"{link}{'&' if '?' in link else '?'}{query}"
    raise BillingError("payments are not configured on this server; an administrator sets plans on the Admin page")


def _upsert_subscription(
    db: Database, user_id: str, tier: str, status: str, sub_id: str | None, customer: str | None,
    period: tuple[int | None, int | None] = (None, None),
) -> None:  # fmt: skip
    start, end = (datetime.fromtimestamp(t, UTC) if t else None for t in period)
    with db.session() as s:
        row = s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id)) \
            if sub_id else None  # fmt: skip
        if row is None:
            row = models.Subscription(user_id=user_id, stripe_subscription_id=sub_id, plan_type=tier, status=status)
            s.add(row)
        row.plan_type, row.status, row.stripe_customer_id = tier, status, customer or row.stripe_customer_id
        row.current_period_start = start or row.current_period_start
        row.current_period_end = end or row.current_period_end
        u = s.get(models.User, user_id)
        if u is not None:
            u.subscription_tier = tier if status in ("active", "trialing", "past_due") else "basic"
            u.subscription_status = status


def _apply_completed_session(db: Database, session: dict) -> str:
    """Apply a completed Checkout Session (from retrieval or a webhook). Returns the tier."""
    meta = session.get("metadata") or {}
    user_id = session.get("client_reference_id") or meta.get("user_id")
    tier = meta.get("tier")
    if not user_id or tier not in PAID_TIERS:
        raise BillingError("the checkout session carries no user reference or plan")
    if accounts.get_user(db, user_id=user_id) is None:
        raise BillingError("the checkout session refers to an unknown user")
    _upsert_subscription(db, user_id, tier, "active", session.get("subscription"), session.get("customer"))
    return tier


def confirm_checkout(db: Database, settings: Settings, session_id: str, user: accounts.UserInfo) -> str:
    """On return from Stripe: retrieve the session and apply its plan if Stripe says it is paid."""
    if not session_id.startswith("cs_"):
        raise InputError("that is not a Checkout Session id", field="session_id")
    try:
        session = client(settings).v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        raise BillingError(f"Stripe could not confirm the checkout: {exc.user_message or exc}") from exc
    data = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    if data.get("status") != "complete" or data.get("payment_status") not in ("paid", "no_payment_required"):
        raise BillingError("Stripe has not confirmed this payment yet; the plan is unchanged")
    if data.get("client_reference_id") != user.id:
        raise BillingError("this checkout belongs to another account; the plan is unchanged")
    return _apply_completed_session(db, data)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


def handle_webhook(db: Database, settings: Settings, payload: bytes, signature: str | None) -> WebhookResult:
    """Verify, de-duplicate and apply one Stripe event. A bad signature changes nothing (400)."""
    if settings.stripe_webhook_secret is None:
        return WebhookResult(400, "STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(payload, signature, settings.stripe_webhook_secret.get_secret_value())
    except (ValueError, stripe.SignatureVerificationError) as exc:
        return WebhookResult(400, f"invalid payload or signature: {exc}")
    data = json.loads(payload)
    event_id, kind = data["id"], data["type"]
    obj = data["data"]["object"]
    try:
        with db.session() as s:
            s.add(models.ProcessedEvent(id=event_id, type=kind))
    except IntegrityError:
        return WebhookResult(200, f"event {event_id} already processed")
    try:
        message = _apply_event(db, settings, kind, obj)
    except AppError as exc:
        with db.session() as s:  # let Stripe retry: forget the event id
            s.delete(s.get(models.ProcessedEvent, event_id))
        return WebhookResult(400, str(exc))
    return WebhookResult(200, message)


def _apply_event(db: Database, settings: Settings, kind: str, obj: dict) -> str:
    if kind == "checkout.session.completed":
        return f"tier set to {_apply_completed_session(db, obj)}"
    if kind in ("customer.subscription.updated", "customer.subscription.deleted"):
        return _apply_subscription(db, settings, obj, deleted=kind.endswith("deleted"))
    if kind == "invoice.payment_failed":
        sub_id = obj.get("subscription") or (obj.get("parent") or {}).get("subscription_details", {}).get("subscription")
        with db.session() as s:
            row = s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
            if row is None:
                return "no matching subscription"
            row.status = "past_due"
            u = s.get(models.User, row.user_id)
            if u is not None:
                u.subscription_status = "past_due"
        return "subscription marked past_due"
    return f"ignored {kind}"


def _apply_subscription(db: Database, settings: Settings, obj: dict, deleted: bool) -> str:
    sub_id = obj.get("id")
    with db.session() as s:
        row = s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
        user_id = row.user_id if row else (obj.get("metadata") or {}).get("user_id")
    if not user_id:
        return "no matching subscription"
    if deleted:
        _upsert_subscription(db, user_id, "basic", "cancelled", sub_id, obj.get("customer"))
        return "subscription cancelled: back to basic"
    items = (obj.get("items") or {}).get("data") or []
    prices = [((i.get("price") or {}).get("id")) for i in items]
    tiers = [price_to_tier(settings)[p] for p in prices if p in price_to_tier(settings)]
    if not tiers:
        return "subscription price maps to no tier"
    status = {"active": "active", "trialing": "active", "past_due": "past_due"}.get(obj.get("status", ""), "cancelled")
    _upsert_subscription(db, user_id, tiers[0], status, sub_id, obj.get("customer"),
                         (obj.get("current_period_start"), obj.get("current_period_end")))  # fmt: skip
    return f"subscription {status}: {tiers[0]}"


def sync(db: Database, settings: Settings) -> list[str]:
    """Reconcile every stored subscription with Stripe (status and plan)."""
    c = client(settings)
    with db.session() as s:
        subs = [r.stripe_subscription_id for r in s.scalars(select(models.Subscription)) if r.stripe_subscription_id]
    out = []
    for sub_id in subs:
        try:
            sub = c.v1.subscriptions.retrieve(sub_id)
        except stripe.StripeError as exc:
            out.append(f"{sub_id}: {exc.user_message or exc}")
            continue
        data = sub.to_dict() if hasattr(sub, "to_dict") else dict(sub)
        out.append(f"{sub_id}: " + _apply_subscription(db, settings, data, deleted=data.get("status") == "canceled"))
    return out


def serve_webhook(db: Database, settings: Settings, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for POST /webhook (call serve_forever on it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/webhook", ""):
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length", 0))
            result = handle_webhook(db, settings, self.rfile.read(length), self.headers.get("Stripe-Signature"))
            body = json.dumps({"message": result.message}).encode()
            self.send_response(result.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
