"""Checkout: Stripe Checkout links for plans and the white-label add-on, confirmation when the buyer returns, the\nsimulated plan change of demo mode, and the registry of what a completed one-off checkout buys (products register\ntheir handler, so the webhook router imports none of them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

import stripe
from sqlalchemy.orm import Session

from core import accounts
from core.accounts import audit
from core.accounts.tiers import get_tier
from core.billing.subscriptions import (
    PAID_STATUSES,
    PAID_TIERS,
    BillingError,
    UnappliedEventError,
    as_dict,
    as_str,
    client,
    mode,
    price_id,
    upsert_subscription,
)
from core.db import models
from core.db.database import Database
from core.errors import InputError
from core.settings import Settings
from core.text import is_record_id

log = logging.getLogger(__name__)


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


def apply_completed_session(s: Session, session: dict) -> str:
    """Apply a completed Checkout Session (from retrieval or a webhook). Returns the tier."""
    meta = as_dict(session.get("metadata"))
    user_id = session.get("client_reference_id") or meta.get("user_id")
    tier = meta.get("tier")
    if not isinstance(user_id, str) or tier not in PAID_TIERS:
        raise BillingError("the checkout session carries no user reference or plan")
    if s.get(models.User, user_id) is None:
        raise BillingError("the checkout session refers to an unknown user")
    upsert_subscription(
        s, user_id, tier, "active", as_str(session.get("subscription")), as_str(session.get("customer"))
    )
    audit(s, None, user_id, "plan", tier, source="stripe checkout")
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
    if data.get("status") != "complete" or data.get("payment_status") not in PAID_STATUSES:
        raise BillingError("Stripe has not confirmed this payment yet; the plan is unchanged")
    if data.get("client_reference_id") != user.id:
        raise BillingError("this checkout belongs to another account; the plan is unchanged")
    with db.session() as s:
        tier = apply_completed_session(s, data)
    log.info("checkout %s confirmed on return: user %s -> %s", session_id, user.id, tier)
    return tier


CheckoutHandler = Callable[[Session, dict], str]


# What a completed Checkout Session buys, by its metadata "kind": each product that is sold through a
# one-off checkout registers its handler here (white-label below, deep reports in core.billing.deep_reports),
# so the webhook router needs no import of every product it sells.
CHECKOUT_HANDLERS: dict[str, CheckoutHandler] = {}


def register_checkout_handler(purpose: str, handler: CheckoutHandler) -> None:
    """Apply ``handler(session, checkout_session)`` to completed checkouts whose metadata kind is ``purpose``."""
    CHECKOUT_HANDLERS[purpose] = handler


def _apply_white_label(s: Session, obj: dict) -> str:
    user_id = as_dict(obj.get("metadata")).get("user_id") or obj.get("client_reference_id")
    if not isinstance(user_id, str) or s.get(models.User, user_id) is None:
        raise BillingError("the checkout session refers to an unknown user")
    row = s.get(models.Branding, user_id) or models.Branding(
        user_id=user_id, company_name="", colour="#1F4E79"
    )
    row.active = True
    s.add(row)
    return "white-label add-on activated"


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


register_checkout_handler("white_label", _apply_white_label)


# --- one-off purchases (deep reports, custom city data): one checkout and one payment rule ---------------
def one_off_session(
    settings: Settings,
    user: accounts.UserInfo,
    name: str,
    amount_usd: float,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
):
    """A Checkout Session in payment mode for one item (BillingError if Stripe refuses); ``metadata`` names
    the purchase kind and the stored row, which the kind's registered handler marks paid."""
    try:
        return client(settings).v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": round(amount_usd * 100),
                            "product_data": {"name": name[:250]},
                        },
                    }
                ],
                "client_reference_id": user.id,
                "metadata": metadata | {"user_id": user.id},
                "customer_email": user.email,
                "success_url": success_url,
                "cancel_url": cancel_url,
            }
        )
    except stripe.StripeError as exc:
        raise BillingError(f"Stripe could not start the checkout: {exc.user_message or exc}") from exc


def apply_one_off_payment(s: Session, session: dict, model: type, ref_key: str, what: str, paid: str) -> str:
    """A completed one-off Checkout Session (webhook): the row its metadata names (``ref_key``) goes from
    pending_payment to ``paid`` once Stripe says it is paid, in the event's transaction."""
    ref = as_dict(session.get("metadata")).get(ref_key)
    row = s.get(model, ref) if is_record_id(ref) else None
    if row is None:
        raise UnappliedEventError(f"the paid checkout names no stored {what} ({str(ref)[:40]!r})")
    if session.get("payment_status") not in PAID_STATUSES:
        return f"{what} {row.id}: payment not completed"
    if row.status == "pending_payment":
        row.status, row.payment_id = paid, str(session.get("payment_intent") or session.get("id"))
    return f"{what} {row.id} {paid}"
