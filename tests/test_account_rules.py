"""Rules of the accounts and billing rooms that a mutation sample (make mutate-sample) showed no test held:
the admin list counts this month only, an API key keeps its name, e-mails with spaces are refused, plan and
role changes are audited under their names, a Checkout Session may name its user in its metadata, a
subscription keeps the Stripe customer and the period it knew, the white-label add-on follows its own
subscription and its Checkout names the user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core import accounts
from core.accounts import admin, apikeys, logins, users
from core.billing import checkout, subscriptions
from core.db import models
from core.errors import InputError


def new_user(db, tier: str = "pro") -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@rules.example", "a-long-password", tier=tier)


def test_the_admin_list_counts_this_months_forecasts_only(sqlite_db) -> None:
    user = new_user(sqlite_db, "master")
    last_month, this_month = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)
    for when in (last_month, last_month, this_month):
        accounts.reserve_forecast(sqlite_db, user, now=when)
    row = next(r for r in admin.list_users(sqlite_db, now=this_month) if r.email == user.email)
    assert row.forecasts_this_month == 1
    row = next(r for r in admin.list_users(sqlite_db, now=last_month) if r.email == user.email)
    assert row.forecasts_this_month == 2


def test_an_api_key_keeps_its_name_with_spaces_collapsed(sqlite_db) -> None:
    user = new_user(sqlite_db, "master")
    info, token = apikeys.create_key(sqlite_db, user, "  nightly   export ")
    assert info.name == "nightly export" and token.startswith(apikeys.KEY_PREFIX)
    assert [k.name for k in apikeys.list_keys(sqlite_db, user.id)] == ["nightly export"]


@pytest.mark.parametrize(
    "email", ["a b@example.com", "ab@exa mple.com", "@example.com", "ab@", "ab.example.com"]
)
def test_an_email_with_a_space_or_without_both_sides_is_refused(email: str) -> None:
    with pytest.raises(InputError, match="is not an e-mail address"):
        users.normalise_email(email)
    assert users.normalise_email("  Ana@Example.COM ") == "ana@example.com"


def test_plan_and_role_changes_are_audited_by_name_and_a_plan_change_is_active(sqlite_db) -> None:
    user = new_user(sqlite_db, "basic")
    with sqlite_db.session() as s:
        s.get(models.User, user.id).subscription_status = "canceled"
    changed = users.update_user(sqlite_db, user.email, tier="pro", role="admin", source="test")
    assert changed.tier == "pro" and changed.role == "admin"
    assert changed.status == "active"  # a plan given by hand is an active one
    mine = [e for e in users.recent_audit(sqlite_db, 200) if e["user"] == user.email]
    assert {(e["change"], e["from"], e["to"], e["source"]) for e in mine} == {
        ("plan", "basic", "pro", "test"),
        ("role", "user", "admin", "test"),
    }


def test_the_login_credentials_name_each_user(sqlite_db) -> None:
    user = new_user(sqlite_db)
    entry = logins.credentials(sqlite_db)["usernames"][user.email]
    assert entry["name"] == user.email and entry["email"] == user.email and entry["roles"] == ["user"]


def test_a_checkout_session_may_name_its_user_in_the_metadata(sqlite_db) -> None:
    """Stripe sends client_reference_id when the app set it; a session created elsewhere (a payment link)
    carries the user only in its metadata: either names the account."""
    user = new_user(sqlite_db, "basic")
    session = {
        "metadata": {"user_id": user.id, "tier": "pro"},
        "subscription": f"sub_{uuid.uuid4().hex[:8]}",
        "customer": "cus_meta",
    }
    with sqlite_db.session() as s:
        assert checkout.apply_completed_session(s, session) == "pro"
    assert accounts.get_user(sqlite_db, email=user.email).tier == "pro"


def test_a_subscription_keeps_its_customer_and_the_period_it_knew(sqlite_db) -> None:
    user = new_user(sqlite_db, "basic")
    sub = f"sub_{uuid.uuid4().hex[:8]}"
    start, end = 1_796_000_000, 1_798_600_000
    with sqlite_db.session() as s:
        subscriptions.upsert_subscription(s, user.id, "pro", "active", sub, "cus_1", (start, end))
    with sqlite_db.session() as s:  # a later event without customer or period changes only the status
        subscriptions.upsert_subscription(s, user.id, "pro", "past_due", sub, None)
    with sqlite_db.session() as s:
        rows = s.scalars(select(models.Subscription).where(models.Subscription.user_id == user.id)).all()
        assert len(rows) == 1
        row = rows[0]
        assert (row.status, row.stripe_customer_id) == ("past_due", "cus_1")
        assert row.current_period_start.replace(tzinfo=UTC) == datetime.fromtimestamp(start, UTC)
        assert row.current_period_end.replace(tzinfo=UTC) == datetime.fromtimestamp(end, UTC)
    assert accounts.get_user(sqlite_db, email=user.email).tier == "pro"  # past due keeps the plan
    with sqlite_db.session() as s:  # no subscription id: a row of its own, never another's
        subscriptions.upsert_subscription(s, user.id, "pro", "active", None, "cus_2")
    with sqlite_db.session() as s:
        ids = s.scalars(
            select(models.Subscription.stripe_subscription_id).where(models.Subscription.user_id == user.id)
        ).all()
    assert sorted(ids, key=str) == sorted([sub, None], key=str)


@pytest.mark.parametrize(
    ("status", "deleted", "active"),
    [("active", False, True), ("past_due", False, True), ("unpaid", False, False), ("active", True, False)],
)
def test_white_label_subscription_events_switch_the_add_on(sqlite_db, status, deleted, active) -> None:
    """The add-on's own subscription: live while Stripe keeps it active, trialing or past due; a deletion or
    another status turns it off; the plan is not touched; an add-on nobody bought is reported, not created."""
    from core.accounts import branding
    from core.settings import load_settings

    user = new_user(sqlite_db, "master")
    branding.activate(sqlite_db, user.id, not active)
    obj = {"id": "sub_wl", "status": status, "metadata": {"kind": "white_label", "user_id": user.id}}
    with sqlite_db.session() as s:
        said = subscriptions.apply_subscription(s, load_settings(), obj, deleted=deleted)
    assert said == f"white-label add-on {'active' if active else 'inactive'}"
    assert branding.get(sqlite_db, user.id).active is active
    assert accounts.get_user(sqlite_db, email=user.email).tier == "master"
    stranger = new_user(sqlite_db, "master")
    obj["metadata"]["user_id"] = stranger.id
    with sqlite_db.session() as s:
        assert subscriptions.apply_subscription(s, load_settings(), obj, deleted=deleted) == (
            "no matching white-label add-on"
        )
    assert branding.get(sqlite_db, stranger.id) is None


def test_the_white_label_checkout_is_a_subscription_that_names_the_user() -> None:
    from core.settings import load_settings
    from tests.fake_stripe import FakeStripe

    user = accounts.UserInfo("u-wl", "wl@example.com", "", "master", "user", "active", False)
    with FakeStripe() as fake:
        settings = load_settings(
            stripe_secret_key="sk_test_1",
            stripe_api_base=fake.url,
            stripe_price_basic="price_b",
            stripe_price_pro="price_p",
            stripe_price_master="price_m",
            stripe_price_white_label="price_wl",
            app_base_url="http://app.example",
        )
        url = checkout.white_label_url(settings, user)
        _method, path, form = fake.requests[-1]
    assert url.startswith("https://checkout.stripe.test/") and path == "/v1/checkout/sessions"
    assert (form["mode"], form["line_items[0][price]"], form["client_reference_id"]) == (
        "subscription",
        "price_wl",
        "u-wl",
    )
    assert form["metadata[kind]"] == form["subscription_data[metadata][kind]"] == "white_label"
    assert form["subscription_data[metadata][user_id]"] == "u-wl"
    assert form["success_url"] == "http://app.example/account?white_label=ok"
    assert checkout.white_label_url(load_settings(stripe_secret_key=None, demo_mode=True), user) is None
    with pytest.raises(subscriptions.BillingError, match="STRIPE_PRICE_WHITE_LABEL"):
        checkout.white_label_url(load_settings(stripe_secret_key=None, demo_mode=False), user)


def test_buying_a_deep_report_in_demo_through_checkout_and_when_stripe_refuses(sqlite_db, ca, caplog) -> None:
    """Demo mode: paid at once ("demo" as its payment). Checkout: waiting for payment, naming its Checkout
    Session. Stripe refusing the session: the report is marked failed and the buyer told."""
    from core.billing import deep_reports
    from core.forecast import ProductInput
    from core.services.forecasts import run_forecast
    from core.settings import load_settings
    from tests.fake_stripe import FakeStripe

    user = new_user(sqlite_db, "pro")
    product = ProductInput(name="Bath towel set", category="Home & Garden", price=25.0, unit_cost=10.0)
    fid = run_forecast(sqlite_db, ca, product, ["PT"], user=user)
    import logging

    with caplog.at_level(logging.INFO, logger="core.billing.deep_reports"):
        demo = deep_reports.create(
            sqlite_db, load_settings(stripe_secret_key=None, demo_mode=True), user, fid, "standard"
        )
    assert (demo.status, demo.checkout_url, demo.forecast_id) == ("paid", None, fid)
    assert any(demo.id in r.getMessage() and r.getMessage().endswith("paid (demo)") for r in caplog.records)
    with sqlite_db.session() as s:
        row = s.get(models.DeepReport, demo.id)
        assert (row.payment_id, row.user_id) == ("demo", user.id)
    with FakeStripe() as fake:
        keys = {f"stripe_price_{t}": f"price_{t}" for t in ("basic", "pro", "master")}
        paying = load_settings(stripe_secret_key="sk_test_1", stripe_api_base=fake.url, **keys)
        bought = deep_reports.create(sqlite_db, paying, user, fid, "standard")
        session_id = list(fake.sessions)[-1]
        refused = load_settings(stripe_secret_key="sk_live_wrong", stripe_api_base=fake.url, **keys)
        with pytest.raises(subscriptions.BillingError, match="Stripe could not"):
            deep_reports.create(sqlite_db, refused, user, fid, "standard")
    assert (
        bought.status == "pending_payment"
        and bought.checkout_url == f"https://checkout.stripe.test/{session_id}"
    )
    with sqlite_db.session() as s:
        assert s.get(models.DeepReport, bought.id).checkout_session_id == session_id
        statuses = [
            r.status for r in s.scalars(select(models.DeepReport).where(models.DeepReport.user_id == user.id))
        ]
    assert sorted(statuses) == ["failed", "paid", "pending_payment"]


# --- rules a mutation sample (make mutate-sample SEED=3) showed no test held -----------------------------


def test_without_a_cookie_key_outside_demo_the_message_says_where_to_set_it(sqlite_db) -> None:
    from core.errors import AccessError

    with pytest.raises(AccessError) as err:
        logins.cookie_key(sqlite_db, None, demo=False)
    assert str(err.value).endswith("(set COOKIE_KEY in the environment or .streamlit/secrets.toml)")
    assert logins.cookie_key(sqlite_db, "configured-key", demo=False) == "configured-key"


def test_a_change_from_the_command_line_is_audited_as_cli_and_by_the_system(sqlite_db) -> None:
    user = new_user(sqlite_db, "basic")
    admin_user = new_user(sqlite_db, "master")
    users.update_user(sqlite_db, user.email, tier="pro")  # the CLI's call: no actor, the default source
    users.update_user(sqlite_db, user.email, tier="master", actor=admin_user, source="admin page")
    mine = [e for e in users.recent_audit(sqlite_db, 200) if e["user"] == user.email]
    assert {(e["to"], e["by"], e["source"]) for e in mine} == {
        ("pro", "system", "cli"),
        ("master", admin_user.email, "admin page"),
    }


def test_a_webhook_without_its_secret_is_refused_and_failures_are_counted(sqlite_db) -> None:
    from core.billing import webhooks
    from core.settings import load_settings

    result = webhooks.handle_webhook(sqlite_db, load_settings(stripe_webhook_secret=None), b"{}", "sig")
    assert (result.status, result.message) == (400, "STRIPE_WEBHOOK_SECRET is not set")
    event = f"evt_{uuid.uuid4().hex[:8]}"
    assert webhooks._failed(sqlite_db, event, "invoice.paid", 500, "boom") == webhooks.WebhookResult(
        500, "boom"
    )
    with sqlite_db.session() as s:
        assert s.get(models.FailedEvent, event).attempts == 1
    webhooks._failed(sqlite_db, event, "invoice.paid", 400, "again")
    with sqlite_db.session() as s:
        row = s.get(models.FailedEvent, event)
        assert (row.attempts, row.status, row.reason) == (2, 400, "again")


def test_a_completed_checkout_keeps_the_stripe_customer(sqlite_db) -> None:
    user = new_user(sqlite_db, "basic")
    sub = f"sub_{uuid.uuid4().hex[:8]}"
    with sqlite_db.session() as s:
        checkout.apply_completed_session(
            s,
            {
                "client_reference_id": user.id,
                "metadata": {"tier": "pro"},
                "subscription": sub,
                "customer": "cus_k",
            },
        )
    with sqlite_db.session() as s:
        row = s.scalar(select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub))
        assert (row.user_id, row.stripe_customer_id, row.status) == (user.id, "cus_k", "active")


def test_the_white_label_checkout_may_name_its_user_in_the_metadata_only(sqlite_db) -> None:
    user = new_user(sqlite_db, "master")
    with sqlite_db.session() as s:
        checkout._apply_white_label(s, {"metadata": {"user_id": user.id, "kind": "white_label"}})
    with sqlite_db.session() as s:
        assert s.get(models.Branding, user.id).active is True


def test_a_subscription_event_stores_its_billing_period(sqlite_db) -> None:
    from core.settings import load_settings

    user = new_user(sqlite_db, "basic")
    settings = load_settings(
        stripe_price_basic="price_b", stripe_price_pro="price_p", stripe_price_master="price_m"
    )
    start, end = 1_796_000_000, 1_798_600_000
    event = {
        "id": f"sub_{uuid.uuid4().hex[:8]}",
        "status": "active",
        "customer": "cus_p",
        "metadata": {"user_id": user.id},
        "items": {"data": [{"price": {"id": "price_p"}}]},
        "current_period_start": start,
        "current_period_end": end,
    }
    with sqlite_db.session() as s:
        assert (
            subscriptions.apply_subscription(s, settings, event, deleted=False) == "subscription active: pro"
        )
    with sqlite_db.session() as s:
        row = s.scalar(select(models.Subscription).where(models.Subscription.user_id == user.id))
        assert row.current_period_start.replace(tzinfo=UTC) == datetime.fromtimestamp(start, UTC)
        assert row.current_period_end.replace(tzinfo=UTC) == datetime.fromtimestamp(end, UTC)


def test_a_deep_report_checkout_charges_dollars_logs_its_id_and_is_only_its_owners(
    sqlite_db, ca, caplog
) -> None:
    import logging

    from core.billing import deep_reports
    from core.errors import AccessError
    from core.forecast import ProductInput
    from core.services.forecasts import run_forecast
    from core.settings import load_settings
    from tests.fake_stripe import FakeStripe

    user, other = new_user(sqlite_db, "pro"), new_user(sqlite_db, "pro")
    product = ProductInput(name="Bath towel set", category="Home & Garden", price=25.0, unit_cost=10.0)
    fid = run_forecast(sqlite_db, ca, product, ["PT"], user=user)
    with FakeStripe() as fake, caplog.at_level(logging.INFO, logger="core.billing.deep_reports"):
        keys = {f"stripe_price_{t}": f"price_{t}" for t in ("basic", "pro", "master")}
        paying = load_settings(stripe_secret_key="sk_test_1", stripe_api_base=fake.url, **keys)
        bought = deep_reports.create(sqlite_db, paying, user, fid, "standard")
        _method, path, form = fake.requests[-1]
    assert path == "/v1/checkout/sessions" and form["line_items[0][price_data][currency]"] == "usd"
    price = reports_price("standard")
    assert form["line_items[0][price_data][unit_amount]"] == str(round(price * 100))
    assert any(bought.id in r.getMessage() and "checkout started" in r.getMessage() for r in caplog.records)
    with sqlite_db.session() as s:
        assert s.get(models.DeepReport, bought.id).payment_id is None  # not paid until Stripe says so
    with pytest.raises(AccessError, match=r"^that deep report does not exist or is not yours$"):
        deep_reports.get(sqlite_db, other.id, bought.id)


def reports_price(kind: str) -> float:
    from core.render import reports

    return reports.report_types()[kind].price_usd


# --- session 14: survivors of the mutation sample's seed 4 --------------------------------------------------
def test_an_unknown_email_in_an_update_names_the_email_field(sqlite_db) -> None:
    with pytest.raises(InputError, match="no user with e-mail") as err:
        users.update_user(sqlite_db, "nobody-here@rules.example", tier="pro")
    assert err.value.field == "email"


def test_the_audit_list_keeps_the_newest_50(sqlite_db) -> None:
    user = new_user(sqlite_db, "basic")
    for i in range(51):
        users.update_user(sqlite_db, user.email, tier=("pro", "basic")[i % 2], source="test")
    newest = users.recent_audit(sqlite_db)
    assert len(newest) == 50 and newest[0]["user"] == user.email


def test_demo_accounts_are_named_by_tier_and_role(sqlite_db) -> None:
    logins.ensure_demo_accounts(sqlite_db)
    names = {
        email: accounts.get_user(sqlite_db, email=email).full_name
        for email, _tier, _role in logins.DEMO_ACCOUNTS
    }
    assert names == {
        "basic@demo.local": "Demo basic",
        "pro@demo.local": "Demo pro",
        "master@demo.local": "Demo master",
        "admin@demo.local": "Demo master admin",
    }


def test_activating_white_label_twice_keeps_one_row(sqlite_db) -> None:
    from core.accounts import branding

    user = new_user(sqlite_db, "master")
    branding.activate(sqlite_db, user.id)
    branding.activate(sqlite_db, user.id, active=False)
    branding.activate(sqlite_db, user.id)
    with sqlite_db.session() as s:
        rows = s.scalars(select(models.Branding).where(models.Branding.user_id == user.id)).all()
        assert [r.active for r in rows] == [True]


def test_the_white_label_checkout_may_name_its_user_by_client_reference_only(sqlite_db) -> None:
    user = new_user(sqlite_db, "master")
    with sqlite_db.session() as s:
        assert checkout._apply_white_label(s, {"client_reference_id": user.id, "metadata": {}}) == (
            "white-label add-on activated"
        )
    with sqlite_db.session() as s:
        assert s.get(models.Branding, user.id).active


def test_without_a_stripe_key_the_message_names_the_setting() -> None:
    from core.settings import load_settings

    with pytest.raises(subscriptions.BillingError, match=r"^Stripe is not configured \(STRIPE_SECRET_KEY\)"):
        subscriptions.client(load_settings(stripe_secret_key=None))


def test_a_deleted_subscription_is_stored_as_basic_and_cancelled(sqlite_db) -> None:
    from core.settings import load_settings

    user = new_user(sqlite_db, "pro")
    sub_id = f"sub_{uuid.uuid4().hex[:8]}"
    with sqlite_db.session() as s:
        subscriptions.apply_subscription(
            s, load_settings(), {"id": sub_id, "customer": "cus_9", "metadata": {"user_id": user.id}}, True
        )
    with sqlite_db.session() as s:
        row = s.scalar(
            select(models.Subscription).where(models.Subscription.stripe_subscription_id == sub_id)
        )
        assert (row.plan_type, row.status, row.stripe_customer_id) == ("basic", "cancelled", "cus_9")


def test_a_failed_event_records_when_it_last_failed(sqlite_db) -> None:
    from core.billing import webhooks

    event = f"evt_{uuid.uuid4().hex[:8]}"
    before = datetime.now(UTC)
    webhooks._failed(sqlite_db, event, "invoice.paid", 500, "boom")
    with sqlite_db.session() as s:
        row = s.get(models.FailedEvent, event)
        first, last = row.first_at.replace(tzinfo=UTC), row.last_at.replace(tzinfo=UTC)
    assert before <= first == last <= datetime.now(UTC)


def test_a_one_off_checkout_sends_where_to_return_on_cancel() -> None:
    from core.settings import load_settings
    from tests.fake_stripe import FakeStripe

    user = accounts.UserInfo("u-1", "one@example.com", "", "pro", "user", "active", False)
    with FakeStripe() as fake:
        settings = load_settings(stripe_secret_key="sk_test_1", stripe_api_base=fake.url)
        checkout.one_off_session(settings, user, "Report", 49.0, {"kind": "x"}, "http://a/ok", "http://a/no")
        _method, _path, form = fake.requests[-1]
    assert (form["success_url"], form["cancel_url"]) == ("http://a/ok", "http://a/no")
    assert form["metadata[user_id]"] == form["client_reference_id"] == "u-1"
