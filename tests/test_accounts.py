"""Accounts, tiers and quotas at the service level (bypassing the UI), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core import accounts
from core.accounts.tiers import check_cities, check_depth, get_tier
from core.errors import AccessError, InputError, LimitError
from core.forecast import evaluate, prepare, rank, validate_product
from core.render import pdf as pdf_report
from core.services import exports as export_service
from core.services.forecasts import run_forecast
from core.services.plans import tier_table
from tests.helpers import login, submit_forecast_form


def new_user(db, tier: str = "basic", role: str = "user") -> accounts.UserInfo:
    return accounts.create_user(
        db, f"{uuid.uuid4().hex[:10]}@example.com", "a-long-password", tier=tier, role=role
    )


@pytest.mark.parametrize(
    ("tier", "requested", "allowed"),
    [
        ("basic", None, 10),
        ("basic", 10, 10),
        ("pro", None, 50),
        ("pro", 20, 20),
        ("master", None, None),
        ("master", 5000, 5000),
    ],
)
def test_check_cities(tier: str, requested, allowed) -> None:
    assert check_cities(get_tier(tier), requested) == allowed


@pytest.mark.parametrize(("tier", "requested"), [("basic", 11), ("basic", 50), ("pro", 51)])
def test_check_cities_refuses(tier: str, requested: int) -> None:
    with pytest.raises(LimitError, match="Upgrade"):
        check_cities(get_tier(tier), requested)


@pytest.mark.parametrize(
    ("tier", "depth", "ok"),
    [
        ("basic", "summary", True),
        ("basic", "detailed", False),
        ("basic", "full", False),
        ("pro", "detailed", True),
        ("pro", "full", False),
        ("master", "full", True),
    ],
)
def test_check_depth(tier: str, depth: str, ok: bool) -> None:
    if ok:
        assert check_depth(get_tier(tier), depth) == depth
    else:
        with pytest.raises(LimitError):
            check_depth(get_tier(tier), depth)


def test_tier_table_matches_the_design() -> None:
    t = tier_table()
    assert list(t.columns) == ["Basic", "Pro", "Master"]
    assert list(t.loc["Forecasts per month"]) == ["50", "250", "unlimited"]
    # what each plan delivers: an unlimited plan keeps (shows, exports) the best STORED_RESULTS of a forecast
    from core.services.forecasts import STORED_RESULTS, result_limit

    assert list(t.loc["Cities"]) == ["top 10", "top 50", f"top {STORED_RESULTS:,}"]
    for tier in ("basic", "pro", "master"):
        shown = result_limit(
            accounts.UserInfo(
                id="u", email="e@x.io", full_name="", tier=tier, role="user", status="active", is_demo=False
            )
        )
        assert f"top {shown:,}" == t.loc["Cities", get_tier(tier).label]
    assert list(t.loc["Agent reports"]) == ["summary", "detailed", "full"]
    assert list(t.loc["API access"]) == ["no", "yes, 500 requests/min", "yes, 2,000 requests/min"]
    assert list(t.loc["White-label reports"]) == ["no", "no", "add-on $299/mo"]
    assert list(t.loc["Marketplace connections (Shopify, Etsy, Amazon)"]) == ["1", "3", "unlimited"]
    # Only what exists is offered: no support promise, no marketplace the connectors do not reach.
    assert not {"Marketplace integrations", "Priority support", "Custom reports"} & set(t.index)


# --- service level ------------------------------------------------------------------------
PRODUCT = {"name": "Tee", "category": "166", "price": 30, "unit_cost": 8}


def test_basic_user_asking_for_50_cities_is_refused(any_db, ca) -> None:
    user = new_user(any_db, "basic")
    with pytest.raises(LimitError, match="top 10"):
        run_forecast(any_db, ca, validate_product(**PRODUCT), ["DE"], user=user, store_top=50)


def test_tier_caps_stored_cities(any_db, ca) -> None:
    from core.db import repo

    for tier, n in [("basic", 10), ("pro", 50)]:
        user = new_user(any_db, tier)
        fid = run_forecast(any_db, ca, validate_product(**PRODUCT), ["DE"], user=user)
        assert len(repo.load_forecast(any_db, fid, user.id).results) == n


def test_exports_refuse_more_than_the_tier(ca) -> None:
    table = rank(evaluate(prepare(ca, validate_product(**PRODUCT))), top=50)
    with pytest.raises(LimitError):
        export_service.csv_for(get_tier("basic"), table)
    assert export_service.csv_for(get_tier("pro"), table)
    report = pdf_report.ReportInput(
        product=PRODUCT | {"category": "Apparel & Accessories"}, table=table.head(10), charts=[], depth="full"
    )
    with pytest.raises(LimitError, match="summary"):
        export_service.pdf_for(get_tier("basic"), report)


def test_quota_is_enforced(any_db) -> None:
    user = new_user(any_db, "basic")
    now = datetime(2026, 11, 15, tzinfo=UTC)
    for i in range(50):
        assert accounts.reserve_forecast(any_db, user, now) == i + 1
    with pytest.raises(LimitError, match="resets on 2026-12-01"):
        accounts.reserve_forecast(any_db, user, now)
    # A new month starts a new count.
    assert accounts.reserve_forecast(any_db, user, datetime(2026, 12, 1, tzinfo=UTC)) == 1
    assert accounts.forecasts_used(any_db, user.id, now) == 50


def test_forecast_service_over_quota_is_refused(any_db, ca) -> None:
    user = new_user(any_db, "basic")
    for _ in range(50):
        accounts.reserve_forecast(any_db, user)
    with pytest.raises(LimitError, match="all 50 forecasts"):
        run_forecast(any_db, ca, validate_product(**PRODUCT), ["DE"], user=user)


def test_quota_race_on_postgres(pg_db) -> None:
    """Eight threads race for a 50-forecast quota: exactly 50 succeed."""
    user = new_user(pg_db, "basic")
    ok, refused = [], []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(10):
            try:
                ok.append(accounts.reserve_forecast(pg_db, user))
            except LimitError:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 50 and len(refused) == 30
    assert sorted(ok) == list(range(1, 51))
    assert accounts.forecasts_used(pg_db, user.id) == 50


def test_unlimited_tier(any_db) -> None:
    user = new_user(any_db, "master")
    for _ in range(60):
        accounts.reserve_forecast(any_db, user)
    assert accounts.forecasts_used(any_db, user.id) == 60


def test_admin_actions_fail_closed(any_db) -> None:
    user, admin = new_user(any_db, "pro"), new_user(any_db, "master", "admin")
    with pytest.raises(AccessError):
        accounts.admin_set_tier(any_db, user, user.email, "master")
    with pytest.raises(AccessError):
        accounts.admin_set_tier(any_db, None, user.email, "master")
    assert accounts.admin_set_tier(any_db, admin, user.email, "master").tier == "master"
    with pytest.raises(InputError, match="own admin role"):
        accounts.admin_set_role(any_db, admin, admin.email, "user")


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "8 characters"), ("é" * 40, "72 bytes"), ("aaaaaaaaaa", "one repeated character")],
)
def test_password_rules(password: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        accounts.hash_password(password)


def test_login_throttling_window(any_db) -> None:
    email = new_user(any_db).email
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for i in range(accounts.MAX_FAILED_LOGINS):
        assert accounts.record_login(any_db, email, False, t0 + timedelta(seconds=i)) == i + 1
    assert accounts.is_throttled(any_db, email, t0 + timedelta(minutes=1))
    assert not accounts.is_throttled(any_db, email, t0 + accounts.LOCKOUT + timedelta(minutes=1))
    accounts.record_login(any_db, email, True, t0)
    assert accounts.failed_logins(any_db, email, t0) == 0


def test_cookie_key(any_db) -> None:
    first = accounts.cookie_key(any_db, None, demo=True)
    assert first == accounts.cookie_key(any_db, None, demo=True) and len(first) > 30
    assert accounts.cookie_key(any_db, "configured", demo=False) == "configured"
    with pytest.raises(AccessError, match="COOKIE_KEY"):
        accounts.cookie_key(any_db, None, demo=False)


def test_demo_accounts_only_in_demo_mode(tmp_path) -> None:
    from core.db.database import Database
    from core.services.seed import seed

    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    assert len(seed(db, demo=True).accounts) == 4
    assert accounts.get_user(db, email="admin@demo.local").is_admin
    seed(db, demo=False)
    assert accounts.get_user(db, email="basic@demo.local") is None


# --- through the UI -----------------------------------------------------------------------
def test_throttled_login_in_the_app(sqlite_db) -> None:
    user = new_user(sqlite_db)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        at = login(user.email, "wrong-password-x")
        assert any("incorrect" in e.value for e in at.error)
    at = login(user.email, "a-long-password")  # right password, but throttled now
    assert any("Too many failed logins" in e.value for e in at.error)
    assert "user_id" not in at.session_state


def test_session_state_tampering_changes_nothing(sqlite_db) -> None:
    at = login("basic@demo.local")
    for key, value in {
        "tier": "master",
        "subscription_tier": "master",
        "role": "admin",
        "roles": ["admin"],
    }.items():
        at.session_state[key] = value
    submit_forecast_form(at, "Tampered", "Electronics", 99.0, 40.0)
    assert at.title[0].value == "Results"
    at.session_state["rs_view"] = "Ranking"
    at.run()
    assert len(at.dataframe[0].value) == 10  # still the Basic top 10
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/admin.py")


def test_account_page_shows_usage_per_tier(sqlite_db) -> None:
    for email, limit in [
        ("basic@demo.local", "/ 50"),
        ("pro@demo.local", "/ 250"),
        ("master@demo.local", "unlimited"),
    ]:
        at = login(email)
        at.switch_page("views/account.py").run()
        assert not at.exception
        usage = next(m.value for m in at.metric if m.label == "Forecasts this month")
        assert limit in usage
        assert any("Demo mode" in i.value for i in at.info)


def test_admin_changes_a_tier_in_the_app(sqlite_db) -> None:
    target = new_user(sqlite_db, "basic")
    at = login("admin@demo.local")
    at.switch_page("views/admin.py").run()
    at.selectbox(key="ad_email").select(target.email).run()
    # the boxes start at the chosen user's values
    assert at.selectbox(key=f"ad_tier_{target.id}").value == "basic"
    assert at.selectbox(key=f"ad_role_{target.id}").value == "user"
    at.selectbox(key=f"ad_tier_{target.id}").select("pro")
    at.button[0].click()
    at.run()
    assert accounts.get_user(sqlite_db, email=target.email).tier == "pro"
    assert any(f"{target.email}: tier pro" in s.value for s in at.success)
    trail = accounts.recent_audit(sqlite_db)
    assert trail[0]["user"] == target.email and trail[0]["to"] == "pro" and trail[0]["from"] == "basic"
    assert trail[0]["by"] == "admin@demo.local" and trail[0]["source"] == "admin page"


def test_admin_apply_is_all_or_nothing(sqlite_db) -> None:
    """Demoting yourself is refused, and the plan chosen in the same form is not changed either."""
    admin = accounts.get_user(sqlite_db, email="admin@demo.local")
    at = login("admin@demo.local")
    at.switch_page("views/admin.py").run()
    at.selectbox(key="ad_email").select("admin@demo.local").run()
    at.selectbox(key=f"ad_tier_{admin.id}").select("pro")
    at.selectbox(key=f"ad_role_{admin.id}").select("user")
    at.button[0].click()
    at.run()
    assert any("cannot remove your own admin role" in e.value for e in at.error)
    after = accounts.get_user(sqlite_db, email="admin@demo.local")
    assert after.tier == admin.tier and after.role == "admin"


# --- CLI ----------------------------------------------------------------------------------
def cli(*args: str, db) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=db.url)
    return subprocess.run(
        [sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_users_cli(sqlite_db) -> None:
    email = f"{uuid.uuid4().hex[:8]}@cli.example"
    res = cli(
        "users",
        "add",
        "--email",
        email,
        "--password",
        "cli-password-1",
        "--tier",
        "pro",
        "--admin",
        db=sqlite_db,
    )
    assert res.returncode == 0, res.stderr
    assert cli("users", "set-tier", "--email", email, "--tier", "master", db=sqlite_db).returncode == 0
    rows = json.loads(cli("users", "list", "--format", "json", db=sqlite_db).stdout)
    row = next(r for r in rows if r["email"] == email)
    assert {"id", "email", "tier", "role", "forecasts_this_month"} <= set(row)
    assert row["tier"] == "master" and row["role"] == "admin" and row["forecasts_this_month"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "--email", "basic@demo.local", "--password", "whatever-123"], "already exists"),
        (["users", "add", "--email", "x@y.z", "--password", "short"], "8 characters"),
        (["users", "set-tier", "--email", "nobody@x.y", "--tier", "pro"], "no user"),
        (["users", "set-tier", "--email", "basic@demo.local", "--tier", "gold"], "invalid choice"),
    ],
)
def test_users_cli_bad_input(sqlite_db, args, message) -> None:
    res = cli(*args, db=sqlite_db)
    assert res.returncode == 2 and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_failed_logins_and_the_lockout_are_logged_with_the_user_id(sqlite_db, caplog) -> None:
    """Issue 24 item 7: each failure and the lockout leave a log line naming the user by id, not by e-mail."""
    import logging

    user = new_user(sqlite_db, "basic")
    with caplog.at_level(logging.INFO, logger="core.accounts.logins"):
        for _ in range(accounts.MAX_FAILED_LOGINS):
            accounts.record_login(sqlite_db, user.email, success=False)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("failed attempt" in m and user.id in m for m in lines) == accounts.MAX_FAILED_LOGINS - 1
    assert any("locked out" in m and user.id in m for m in lines)
    assert not any(user.email in m for m in lines)


def test_demo_mode_simulates_an_upgrade_on_the_account_page(sqlite_db) -> None:
    """Issue 25.8: in demo mode the Account page changes the plan at once (no payment), audited as a demo
    change; the quota message's "Upgrade on the Account page" then leads somewhere."""
    user = new_user(sqlite_db, "basic")
    at = login(user.email, "a-long-password")
    at.switch_page("views/account.py").run()
    assert not at.exception
    at.button(key="demo_pro").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "pro"
    assert any("now Pro" in s.value for s in at.success)
    assert at.button(key="demo_pro").disabled  # the current plan
    trail = [a for a in accounts.recent_audit(sqlite_db) if a["user"] == user.email]
    assert trail[0]["source"] == "demo" and (trail[0]["from"], trail[0]["to"]) == ("basic", "pro")


def test_simulated_plan_change_is_refused_outside_demo_mode(sqlite_db) -> None:
    from core import billing
    from core.settings import load_settings

    user = new_user(sqlite_db, "basic")
    with pytest.raises(billing.BillingError, match="only in demo mode"):
        billing.demo_change_plan(sqlite_db, load_settings(demo_mode=False), user, "master")
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "basic"


@pytest.mark.parametrize(
    ("kind", "plan_cities", "listed"),
    [("premium", 10, 10), ("premium", 1000, 300), ("standard", 50, 50), ("enterprise", 1000, 1000)],
)
def test_a_deep_reports_promise_is_what_the_plan_lets_it_deliver(
    kind: str, plan_cities: int, listed: int
) -> None:
    """Issue 25.5: a Basic "premium" report is offered as the 10 cities it will list, not 300."""
    from core.render.reports import promise, report_type

    text = promise(report_type(kind), plan_cities)
    assert f"the top {listed:,} cities" in text
    assert ("your plan's limit" in text) == (plan_cities < report_type(kind).cities_listed)
