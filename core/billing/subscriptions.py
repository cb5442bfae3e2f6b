"""Stripe billing: checkout links, confirmation on return, webhooks, reconciliation.

The tier changes only after Stripe confirms (a retrieved Checkout Session, or a signature-verified
webhook event), never from anything the browser sends. With no Stripe settings the app is in demo
mode and none of this runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import audit
from core.db import models
from core.db.database import Database
from core.errors import AppError
from core.settings import Settings

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


def upsert_subscription(
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


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class UnappliedEventError(BillingError):
    """A valid event that cannot be applied now (its subscription or user is not known yet, its price maps
    to no plan): not recorded as processed, so Stripe delivers it again and ``billing sync`` can recover."""


def apply_subscription(s: Session, settings: Settings, obj: dict, deleted: bool) -> str:
    meta = as_dict(obj.get("metadata"))
    if meta.get("kind") == "white_label":  # the add-on's own subscription, not the plan
        row = s.get(models.Branding, as_str(meta.get("user_id")) or "")
        if row is None:
            return "no matching white-label add-on"
        row.active = not deleted and obj.get("status") in ("active", "trialing", "past_due")
        return f"white-label add-on {'active' if row.active else 'inactive'}"
    sub_id = as_str(obj.get("id"))
    row = (
        s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id))
        if sub_id
        else None
    )
    user_id = row.user_id if row else as_str(as_dict(obj.get("metadata")).get("user_id"))
    if not user_id or s.get(models.User, user_id) is None:
        raise UnappliedEventError("no stored subscription and no user in its metadata (yet)")
    if deleted:
        upsert_subscription(s, user_id, "basic", "cancelled", sub_id, as_str(obj.get("customer")))
        audit(s, None, user_id, "plan", "basic", source="stripe subscription deleted")
        return "subscription cancelled: back to basic"
    items = as_dict(obj.get("items")).get("data")
    prices = (
        [as_dict(i.get("price")).get("id") for i in items if isinstance(i, dict)]
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
    upsert_subscription(
        s,
        user_id,
        tiers[0],
        status,
        sub_id,
        as_str(obj.get("customer")),
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
                + apply_subscription(s, settings, data, deleted=data.get("status") == "canceled")
            )
    return out
