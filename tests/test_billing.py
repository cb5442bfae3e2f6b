"""Stripe billing against a local fake Stripe server; webhooks with real signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest

from core import accounts, billing
from core.billing import subscriptions
from core.settings import load_settings
from tests.fake_stripe import FakeStripe

SECRET = "whsec_test_secret"


@pytest.fixture
def fake():
    with FakeStripe() as f:
        yield f


def settings_for(fake: FakeStripe | None = None, **kw):
    base = {
        "stripe_secret_key": "sk_test_123",
        "stripe_webhook_secret": SECRET,
        "stripe_price_basic": "price_basic",
        "stripe_price_pro": "price_pro",
        "stripe_price_master": "price_master",
        "stripe_api_base": fake.url if fake else None,
        "app_base_url": "http://localhost:8501",
    }
    return load_settings(**(base | kw))


def new_user(db, tier: str = "basic") -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@pay.example", "a-long-password", tier=tier)


def test_modes() -> None:
    assert billing.mode(load_settings(stripe_secret_key=None, demo_mode=True)) == "demo"
    assert billing.mode(load_settings(stripe_secret_key=None, demo_mode=False)) == "none"
    assert billing.mode(settings_for()) == "checkout"
    assert billing.mode(load_settings(stripe_link_pro="https://buy.stripe.com/x")) == "links"


@pytest.mark.parametrize(
    ("demo", "force", "url", "expected"),
    [
        (False, False, "http://localhost:8501", False),  # no Stripe keys alone never means demo
        (True, False, "http://localhost:8501", True),
        (True, False, "http://127.0.0.1:8501", True),
        (True, False, "https://shop.example.com", False),  # a public URL refuses demo accounts ...
        (True, True, "https://demo.example.com", True),
    ],  # ... unless forced
)
def test_demo_mode_is_explicit(demo, force, url, expected) -> None:
    assert (
        load_settings(demo_mode=demo, demo_force=force, app_base_url=url, stripe_secret_key=None).is_demo
        is expected
    )


def test_seed_without_demo_mode_makes_no_demo_accounts(tmp_path) -> None:
    from core.db.database import Database
    from core.services.seed import seed

    db = Database(f"sqlite:///{tmp_path / 'prod.db'}")
    assert seed(db, demo=load_settings(demo_mode=False).is_demo).accounts == ()
    assert accounts.get_user(db, email="admin@demo.local") is None


def test_checkout_session_parameters(sqlite_db, fake) -> None:
    user = new_user(sqlite_db)
    url = billing.upgrade_url(settings_for(fake), user, "pro")
    assert url.startswith("https://checkout.stripe.test/cs_test_")
    method, path, form = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["mode"] == "subscription"
    assert form["client_reference_id"] == user.id
    assert form["metadata[user_id]"] == user.id and form["metadata[tier]"] == "pro"
    assert form["customer_email"] == user.email
    assert form["line_items[0][price]"] == "price_pro"
    assert form["success_url"] == "http://localhost:8501/account?session_id={CHECKOUT_SESSION_ID}"
    assert (
        accounts.get_user(sqlite_db, user_id=user.id).tier == "basic"
    )  # nothing changes before Stripe confirms


def test_tier_changes_only_after_stripe_confirms(sqlite_db, fake) -> None:
    s = settings_for(fake)
    user = new_user(sqlite_db)
    billing.upgrade_url(s, user, "master")
    sid = next(iter(fake.sessions))
    with pytest.raises(billing.BillingError, match="not confirmed"):
        billing.confirm_checkout(sqlite_db, s, sid, user)
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "basic"
    fake.sessions[sid] |= {"status": "complete", "payment_status": "paid"}
    assert billing.confirm_checkout(sqlite_db, s, sid, user) == "master"
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "master"


def test_someone_elses_session_is_refused(sqlite_db, fake) -> None:
    s = settings_for(fake)
    payer, other = new_user(sqlite_db), new_user(sqlite_db)
    billing.upgrade_url(s, payer, "pro")
    sid = next(iter(fake.sessions))
    fake.sessions[sid] |= {"status": "complete", "payment_status": "paid"}
    with pytest.raises(billing.BillingError, match="another account"):
        billing.confirm_checkout(sqlite_db, s, sid, other)
    assert accounts.get_user(sqlite_db, user_id=other.id).tier == "basic"


def test_unknown_session_and_stripe_errors(sqlite_db, fake) -> None:
    user = new_user(sqlite_db)
    with pytest.raises(billing.BillingError, match="could not confirm"):
        billing.confirm_checkout(sqlite_db, settings_for(fake), "cs_test_missing", user)
    with pytest.raises(billing.BillingError, match="could not start"):
        billing.upgrade_url(settings_for(fake, stripe_secret_key="rk_wrong"), user, "pro")


def test_payment_links_carry_the_reference(sqlite_db) -> None:
    user = new_user(sqlite_db)
    url = billing.upgrade_url(load_settings(stripe_link_pro="https://buy.stripe.com/test_pro"), user, "pro")
    assert url.startswith("https://buy.stripe.com/test_pro?")
    assert f"client_reference_id={user.id}" in url


def test_demo_mode_has_no_payments(sqlite_db) -> None:
    with pytest.raises(billing.BillingError, match="payments are not configured"):
        billing.upgrade_url(load_settings(stripe_secret_key=None), new_user(sqlite_db), "pro")


# --- webhooks -----------------------------------------------------------------------------
def signed(event: dict, secret: str = SECRET, ts: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    ts = int(time.time()) if ts is None else ts
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={ts},v1={sig}"


def completed_event(user: accounts.UserInfo, tier: str) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": f"cs_test_{uuid.uuid4().hex[:8]}",
                "object": "checkout.session",
                "client_reference_id": user.id,
                "metadata": {"user_id": user.id, "tier": tier},
                "subscription": f"sub_{uuid.uuid4().hex[:10]}",
                "customer": "cus_1",
                "status": "complete",
                "payment_status": "paid",
            }
        },
    }


def test_webhook_valid_signature_applies(any_db) -> None:
    user = new_user(any_db)
    result = billing.handle_webhook(any_db, settings_for(), *signed(completed_event(user, "pro")))
    assert result.status == 200
    assert accounts.get_user(any_db, user_id=user.id).tier == "pro"


@pytest.mark.parametrize("case", ["wrong secret", "stale timestamp", "no signature", "tampered body"])
def test_webhook_bad_signature_changes_nothing(any_db, case: str) -> None:
    user = new_user(any_db)
    event = completed_event(user, "master")
    payload, header = (
        signed(event, secret="whsec_other")
        if case == "wrong secret"
        else signed(event, ts=int(time.time()) - 3600 if case == "stale timestamp" else None)
    )
    if case == "no signature":
        header = None
    if case == "tampered body":
        payload = payload.replace(b'"master"', b'"pro"')
    result = billing.handle_webhook(any_db, settings_for(), payload, header)
    assert (result.status, result.message) == (400, "invalid payload or signature")  # what Stripe shows
    assert accounts.get_user(any_db, user_id=user.id).tier == "basic"


def test_webhook_replay_is_applied_once(any_db) -> None:
    user = new_user(any_db)
    event = completed_event(user, "pro")
    assert billing.handle_webhook(any_db, settings_for(), *signed(event)).status == 200
    accounts.set_tier(any_db, user.email, "basic")  # e.g. an admin changed it since
    again = billing.handle_webhook(any_db, settings_for(), *signed(event))
    assert again.status == 200 and "already processed" in again.message
    assert accounts.get_user(any_db, user_id=user.id).tier == "basic"


def test_subscription_lifecycle_events(any_db) -> None:
    s = settings_for()
    user = new_user(any_db)
    start = completed_event(user, "pro")
    sub_id = start["data"]["object"]["subscription"]
    billing.handle_webhook(any_db, s, *signed(start))

    def event(kind: str, obj: dict) -> dict:
        return {"id": f"evt_{uuid.uuid4().hex[:14]}", "type": kind, "data": {"object": obj}}

    updated = event(
        "customer.subscription.updated",
        {
            "id": sub_id,
            "status": "active",
            "customer": "cus_1",
            "items": {"data": [{"price": {"id": "price_master"}}]},
        },
    )
    assert billing.handle_webhook(any_db, s, *signed(updated)).status == 200
    assert accounts.get_user(any_db, user_id=user.id).tier == "master"
    failed = event("invoice.payment_failed", {"id": "in_1", "subscription": sub_id})
    billing.handle_webhook(any_db, s, *signed(failed))
    assert accounts.get_user(any_db, user_id=user.id).status == "past_due"
    paid = event("customer.subscription.updated", updated["data"]["object"])
    billing.handle_webhook(any_db, s, *signed(paid))
    assert accounts.get_user(any_db, user_id=user.id).status == "active"
    # Stripe's newer invoices name the subscription under parent.subscription_details only
    newer = event(
        "invoice.payment_failed",
        {"id": "in_2", "parent": {"subscription_details": {"subscription": sub_id}}},
    )
    assert billing.handle_webhook(any_db, s, *signed(newer)).status == 200
    assert accounts.get_user(any_db, user_id=user.id).status == "past_due"
    deleted = event(
        "customer.subscription.deleted", {"id": sub_id, "status": "canceled", "customer": "cus_1"}
    )
    billing.handle_webhook(any_db, s, *signed(deleted))
    info = accounts.get_user(any_db, user_id=user.id)
    assert info.tier == "basic" and info.status == "cancelled"


def _event(kind: str, data: object) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex[:14]}", "type": kind, "data": data}


@pytest.mark.parametrize(
    "event",
    [
        _event(
            "invoice.payment_failed", {"object": {"id": "in_1", "parent": {"subscription_details": None}}}
        ),
        {"id": "evt_nodata_1", "type": "checkout.session.completed"},
        _event("checkout.session.completed", {"object": ["a", "list"]}),
        _event("checkout.session.completed", {"object": "a string"}),
        _event("checkout.session.completed", {"object": {"metadata": "a string", "client_reference_id": 5}}),
        _event("customer.subscription.updated", {"object": {"id": 7, "items": "x", "metadata": "y"}}),
    ],
)
def test_signed_odd_events_never_crash_and_are_not_lost(any_db, event) -> None:
    """Each answer is a clear status; an event that was not applied is not recorded, so a retry is applied."""
    from core.db import models

    result = billing.handle_webhook(any_db, settings_for(), *signed(event))
    assert result.status in (200, 400, 409)  # 409: valid but not applicable yet (issue 24 item 5)
    with any_db.session() as s:
        recorded = s.get(models.ProcessedEvent, event["id"]) is not None
    assert recorded == (result.status == 200)


def test_failed_apply_is_retried_not_lost(sqlite_db) -> None:
    """A database fault while applying answers 500 and records nothing; Stripe's retry then applies it.
    The fault is real: a SQLite trigger makes the subscriptions insert fail."""
    from sqlalchemy import text

    user = new_user(sqlite_db)
    event = completed_event(user, "pro")
    with sqlite_db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER fail_subs BEFORE INSERT ON subscriptions BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    try:
        first = billing.handle_webhook(sqlite_db, settings_for(), *signed(event))
    finally:
        with sqlite_db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER fail_subs"))
    assert first.status == 500 and "disk full" not in first.message
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "basic"
    retry = billing.handle_webhook(sqlite_db, settings_for(), *signed(event))
    assert retry.status == 200 and "already" not in retry.message
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "pro"


def test_future_timestamp_is_refused(sqlite_db) -> None:
    user = new_user(sqlite_db)
    result = billing.handle_webhook(
        sqlite_db, settings_for(), *signed(completed_event(user, "pro"), ts=int(time.time()) + 400)
    )
    assert (result.status, result.message) == (400, "timestamp outside the tolerance")
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "basic"


def test_webhook_cli_needs_a_secret(sqlite_db) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "STRIPE_WEBHOOK_SECRET"} | {
        "DATABASE_URL": sqlite_db.url
    }
    res = subprocess.run(
        [sys.executable, "-m", "core", "webhook", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 2 and "STRIPE_WEBHOOK_SECRET" in res.stderr


# --- issue 24 items 5-7: no event is silently dropped, only paid checkouts grant -------------------------
def _sub_event(kind: str, obj: dict) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex[:14]}", "type": kind, "data": {"object": obj}}


def _processed(db, event_id: str) -> bool:
    from core.db import models

    with db.session() as s:
        return s.get(models.ProcessedEvent, event_id) is not None


def test_unpaid_checkout_grants_nothing_until_the_async_payment_succeeds(any_db) -> None:
    user = new_user(any_db)
    event = completed_event(user, "master")
    event["data"]["object"]["payment_status"] = "unpaid"
    r = billing.handle_webhook(any_db, settings_for(), *signed(event))
    assert r.status == 200 and "nothing granted" in r.message
    assert accounts.get_user(any_db, user_id=user.id).tier == "basic"
    later = completed_event(user, "master") | {"type": "checkout.session.async_payment_succeeded"}
    assert billing.handle_webhook(any_db, settings_for(), *signed(later)).status == 200
    assert accounts.get_user(any_db, user_id=user.id).tier == "master"
    failed = completed_event(user, "pro") | {"type": "checkout.session.async_payment_failed"}
    assert billing.handle_webhook(any_db, settings_for(), *signed(failed)).status == 200
    assert accounts.get_user(any_db, user_id=user.id).tier == "master"


@pytest.mark.parametrize(
    "case", ["unknown price", "unknown subscription", "payment failed first", "unknown report"]
)
def test_events_that_cannot_be_applied_are_not_recorded(any_db, case: str) -> None:
    user = new_user(any_db)
    sub = f"sub_{uuid.uuid4().hex[:10]}"
    event = {
        "unknown price": _sub_event(
            "customer.subscription.updated",
            {
                "id": sub,
                "status": "active",
                "metadata": {"user_id": user.id},
                "items": {"data": [{"price": {"id": "price_x"}}]},
            },
        ),
        "unknown subscription": _sub_event(
            "customer.subscription.updated",
            {"id": sub, "status": "active", "items": {"data": [{"price": {"id": "price_pro"}}]}},
        ),
        "payment failed first": _sub_event(
            "invoice.payment_failed",
            {"id": "in_9", "subscription": sub, "parent": {"subscription_details": None}},
        ),
        "unknown report": completed_event(user, "pro"),
    }[case]
    if case == "unknown report":
        event["data"]["object"]["metadata"] = {"kind": "deep_report", "deep_report_id": str(uuid.uuid4())}
    r = billing.handle_webhook(any_db, settings_for(), *signed(event))
    assert r.status >= 400 and not _processed(any_db, event["id"]), r
    assert accounts.get_user(any_db, user_id=user.id).tier == "basic"
    # kept for admins with its reason, once per event; a second delivery counts an attempt
    kept = {f["event"]: f for f in billing.failed_events(any_db)}
    assert kept[event["id"]]["reason"] == r.message and kept[event["id"]]["answer"] == r.status
    billing.handle_webhook(any_db, settings_for(), *signed(event))
    assert {f["event"]: f for f in billing.failed_events(any_db)}[event["id"]]["attempts"] == 2


def test_a_failed_event_leaves_the_admin_list_once_it_applies(any_db) -> None:
    """The out-of-order case: a subscription update before the plan is known fails (409, kept); once the
    subscription is stored, the same event applies and is marked resolved."""
    user = new_user(any_db)
    sub = f"sub_{uuid.uuid4().hex[:10]}"
    update = _sub_event(
        "customer.subscription.updated",
        {"id": sub, "status": "active", "items": {"data": [{"price": {"id": "price_pro"}}]}},
    )
    assert billing.handle_webhook(any_db, settings_for(), *signed(update)).status == 409
    assert update["id"] in {f["event"] for f in billing.failed_events(any_db)}
    update["data"]["object"]["metadata"] = {"user_id": user.id}  # now resolvable (as after the checkout)
    assert billing.handle_webhook(any_db, settings_for(), *signed(update)).status == 200
    assert update["id"] not in {f["event"] for f in billing.failed_events(any_db)}
    assert update["id"] in {f["event"] for f in billing.failed_events(any_db, include_resolved=True)}


def test_out_of_order_subscription_event_resolves_through_its_metadata(any_db) -> None:
    """Plan checkouts put the user on the subscription's metadata, so an update that arrives before the
    checkout's event still finds the user."""
    user = new_user(any_db)
    event = _sub_event(
        "customer.subscription.updated",
        {
            "id": f"sub_{uuid.uuid4().hex[:10]}",
            "status": "active",
            "metadata": {"user_id": user.id, "tier": "pro"},
            "items": {"data": [{"price": {"id": "price_pro"}}]},
        },
    )
    assert billing.handle_webhook(any_db, settings_for(), *signed(event)).status == 200
    assert accounts.get_user(any_db, user_id=user.id).tier == "pro"


@pytest.mark.parametrize("body", [b"[1,2,3]", b"42", b'"text"', b'{"id": 1}'])
def test_signed_non_event_bodies_answer_400(sqlite_db, body: bytes) -> None:
    ts = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert billing.handle_webhook(sqlite_db, settings_for(), body, f"t={ts},v1={sig}").status == 400


def test_plan_checkouts_put_the_user_on_the_subscription(sqlite_db, fake) -> None:
    """What Stripe receives (the fake records the form): the subscription carries the user and the plan."""
    user = new_user(sqlite_db)
    billing.upgrade_url(settings_for(fake), user, "pro")
    form = next(
        f for method, path, f in fake.requests if method == "POST" and path == "/v1/checkout/sessions"
    )
    assert form["subscription_data[metadata][user_id]"] == user.id
    assert form["subscription_data[metadata][tier]"] == "pro"


def test_billing_sync_reconciles_each_subscription_with_stripe(sqlite_db, fake) -> None:
    """`python -m core billing sync`: each stored subscription is read from Stripe and applied (a plan
    cancelled in Stripe's dashboard ends here too); one Stripe does not know is reported, not fatal."""
    s = settings_for(fake)
    user, gone = new_user(sqlite_db), new_user(sqlite_db)
    subs = []
    for who in (user, gone):
        event = completed_event(who, "pro")
        billing.handle_webhook(sqlite_db, s, *signed(event))
        subs.append(event["data"]["object"]["subscription"])
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "pro"
    fake.subscriptions[subs[0]] = {
        "id": subs[0],
        "object": "subscription",
        "status": "canceled",
        "customer": "cus_sync",
        "items": {"object": "list", "data": [{"price": {"id": "price_pro"}}]},
    }
    lines = {line.split(":", 1)[0]: line for line in subscriptions.sync(sqlite_db, s)}
    info = accounts.get_user(sqlite_db, user_id=user.id)
    assert (info.tier, info.status) == ("basic", "cancelled")
    assert "No such object" in lines[subs[1]]
    assert accounts.get_user(sqlite_db, user_id=gone.id).tier == "pro"  # unknown to Stripe: left as it was
    assert ("GET", f"/v1/subscriptions/{subs[0]}", {}) in fake.requests


@pytest.mark.parametrize(
    ("link", "joiner"),
    [("https://buy.stripe.com/test_pro", "?"), ("https://buy.stripe.com/test_pro?locale=de", "&")],
)
def test_a_payment_link_gets_the_user_appended_to_its_query(link: str, joiner: str) -> None:
    """Payment Links mode: the account and e-mail travel in the link's query, after any query it has."""
    from core.billing import checkout

    user = accounts.UserInfo("u-1", "ana+shop@example.com", "", "basic", "user", "active", False)
    settings = load_settings(stripe_secret_key=None, stripe_link_pro=link)
    assert checkout.upgrade_url(settings, user, "pro") == (
        f"{link}{joiner}client_reference_id=u-1&prefilled_email=ana%2Bshop%40example.com"
    )
