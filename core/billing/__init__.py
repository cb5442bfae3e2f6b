"""Billing: the Stripe client, checkout, subscriptions and the signature-verified webhook router
(core.billing.subscriptions, re-exported here), and the products sold through one-off checkouts, which
register their webhook handler (deep reports). May import core.accounts, core.db, core.render, core.forecast.
"""

from core.billing import deep_reports  # noqa: F401  (registers its checkout handler)
from core.billing.subscriptions import (  # noqa: F401
    CHECKOUT_HANDLERS,
    MAX_WEBHOOK_BYTES,
    PAID_STATUSES,
    PAID_TIERS,
    TIMESTAMP_TOLERANCE_S,
    BillingError,
    UnappliedEventError,
    WebhookResult,
    client,
    confirm_checkout,
    demo_change_plan,
    failed_events,
    handle_webhook,
    mode,
    price_id,
    price_to_tier,
    register_checkout_handler,
    sync,
    upgrade_url,
    white_label_url,
)
