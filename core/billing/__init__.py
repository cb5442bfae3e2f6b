"""Billing: the Stripe client, checkout, subscriptions and the signature-verified webhook router
(core.billing.subscriptions, .checkout, .webhooks; re-exported here), and the products sold through one-off checkouts, which
register their webhook handler (deep reports, custom city data). May import core.accounts, core.db, core.render, core.forecast.
"""

from core.billing import custom_cities, deep_reports  # noqa: F401  (register their checkout handlers)
from core.billing.checkout import (  # noqa: F401
    CHECKOUT_HANDLERS,
    confirm_checkout,
    demo_change_plan,
    register_checkout_handler,
    upgrade_url,
    white_label_url,
)
from core.billing.subscriptions import (  # noqa: F401
    PAID_STATUSES,
    PAID_TIERS,
    BillingError,
    UnappliedEventError,
    client,
    mode,
    price_id,
    price_to_tier,
    sync,
)
from core.billing.webhooks import (  # noqa: F401
    MAX_WEBHOOK_BYTES,
    TIMESTAMP_TOLERANCE_S,
    WebhookResult,
    failed_events,
    handle_webhook,
)
