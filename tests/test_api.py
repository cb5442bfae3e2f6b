"""The HTTP API: every endpoint and its errors (TestClient), plan rules shared with the app, API keys,
rate limits shared across processes through the database, deep reports, the moved webhook, and a
property-based run of the OpenAPI schema (Schemathesis)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from core import accounts
from core.accounts import apikeys, ratelimit
from core.accounts.tiers import get_tier
from core.db import models, repo
from core.errors import InputError, LimitError
from core.forecast import validate_product
from core.services.forecasts import result_table, run_forecast
from core.settings import load_settings
from tests.fake_stripe import FakeStripe
from tests.helpers import private_queue, start_worker, stop
from tests.test_billing import SECRET, completed_event, settings_for, signed

PRODUCT = {
    "name": "Bath towel set",
    "category": "Home & Garden",
    "price": 25.0,
    "unit_cost": 10.0,
    "ships_from": "Istanbul, TR",
}


def new_user(db, tier: str) -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@api.example", "a-long-password", tier=tier)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def demo_api(sqlite_db):
    app = create_app(
        load_settings(
            database_url=sqlite_db.url,
            demo_mode=True,
            stripe_secret_key=None,
            stripe_webhook_secret=SECRET,
            openai_api_key=None,
        ),
        sqlite_db,
    )
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def pro(sqlite_db):
    user = new_user(sqlite_db, "pro")
    return user, apikeys.create_key(sqlite_db, user, "tests")[1]


def test_keys_are_stored_hashed_listed_by_prefix_and_revocable(sqlite_db) -> None:
    user = new_user(sqlite_db, "master")
    info, token = apikeys.create_key(sqlite_db, user, "ci")
    assert token.startswith("aci_") and len(token) > 40 and info.prefix == token[:12]
    with sqlite_db.session() as s:
        stored = s.scalar(select(models.ApiKey).where(models.ApiKey.id == info.id))
        assert token not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert [k.prefix for k in apikeys.list_keys(sqlite_db, user.id)] == [info.prefix]
    assert apikeys.authenticate(sqlite_db, token)[0].id == user.id
    apikeys.revoke_key(sqlite_db, user.id, info.prefix)
    with pytest.raises(apikeys.AuthError):
        apikeys.authenticate(sqlite_db, token)
    with pytest.raises(InputError):
        apikeys.revoke_key(sqlite_db, new_user(sqlite_db, "pro").id, info.id)  # not someone else's key


def test_basic_has_no_api_access(sqlite_db, demo_api) -> None:
    basic = new_user(sqlite_db, "basic")
    with pytest.raises(LimitError, match="Pro and Master"):
        apikeys.create_key(sqlite_db, basic, "x")
    user = new_user(sqlite_db, "pro")  # a key made on Pro, then the plan lapses to Basic
    _info, token = apikeys.create_key(sqlite_db, user, "x")
    accounts.set_tier(sqlite_db, user.email, "basic")
    r = demo_api.get("/api/v1/subscriptions/me", headers=bearer(token))
    assert r.status_code == 403 and "Pro and Master" in r.json()["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer aci_not-a-key"}, {"Authorization": "Basic abc"}]
)
def test_missing_or_unknown_key_is_401(demo_api, headers) -> None:
    r = demo_api.get("/api/v1/forecasts", headers=headers)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer" and r.json()["detail"]


def test_forecast_matches_the_app_for_the_plan(sqlite_db, ca, demo_api, pro) -> None:
    user, token = pro
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT | {"countries": ["DE", "FR"]}, headers=bearer(token))
    assert r.status_code == 201, r.text
    body = r.json()
    # What the app stores and shows for the same product, scope and plan (core.service, the page's call).
    app_id = run_forecast(sqlite_db, ca, validate_product(**PRODUCT), ["DE", "FR"], user=user)
    shown = result_table(repo.load_forecast(sqlite_db, app_id, user.id), ca)
    assert len(body["cities"]) == len(shown) == get_tier("pro").max_cities
    assert [c["city_id"] for c in body["cities"]] == shown["city_id"].tolist()
    assert body["cities"][0]["expected_units_month"] == pytest.approx(
        shown.iloc[0]["expected_units_month"], abs=0.01
    )
    assert r.headers["X-RateLimit-Limit"] == str(get_tier("pro").api_requests_per_minute)

    got = demo_api.get(f"/api/v1/forecasts/{body['id']}", headers=bearer(token)).json()
    assert got["cities"] == body["cities"] and got["product"]["name"] == PRODUCT["name"]
    assert body["cities"][0]["region"] == shown.iloc[0]["region"]
    listed = demo_api.get("/api/v1/forecasts?per_page=1&page=1", headers=bearer(token)).json()
    assert (
        listed["total"] == 2
        and len(listed["items"]) == 1
        and listed["items"][0]["id"] in (body["id"], app_id)
    )

    csv = demo_api.get(f"/api/v1/forecasts/{body['id']}/export.csv", headers=bearer(token))
    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert table["city_id"].tolist() == [c["city_id"] for c in body["cities"]]

    me = demo_api.get("/api/v1/subscriptions/me", headers=bearer(token)).json()
    assert (
        me["plan"] == "pro" and me["usage"]["forecasts"] == accounts.forecasts_used(sqlite_db, user.id) == 2
    )
    assert me["limits"]["max_cities"] == get_tier("pro").max_cities


def test_who_pays_shipping_reaches_the_engine(sqlite_db, ca, demo_api, pro) -> None:
    """``shipping_paid_by`` in the body is the engine's input: the stored product holds it and the cities
    are the engine's ranking for it; anything but buyer / seller is a 422 naming the field."""
    from core.forecast import evaluate, prepare, rank

    _user, token = pro
    for payer in ("seller", "buyer"):
        r = demo_api.post(
            "/api/v1/forecasts",
            json=PRODUCT | {"countries": ["DE"], "shipping_paid_by": payer},
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
        body = r.json()
        got = demo_api.get(f"/api/v1/forecasts/{body['id']}", headers=bearer(token)).json()
        assert got["product"]["shipping_paid_by"] == payer
        engine = rank(
            evaluate(prepare(ca, validate_product(**PRODUCT, shipping_paid_by=payer))),
            countries=["DE"],
            top=5,
        )
        assert [c["city_id"] for c in body["cities"][:5]] == engine["city_id"].tolist()
        assert body["cities"][0]["expected_units_month"] == pytest.approx(
            engine.iloc[0]["expected_units_month"], abs=0.01
        )
    r = demo_api.post(
        "/api/v1/forecasts", json=PRODUCT | {"shipping_paid_by": "nobody"}, headers=bearer(token)
    )
    assert r.status_code == 422 and "shipping_paid_by" in r.json()["detail"]


def test_plan_rules_apply(sqlite_db, demo_api, pro) -> None:
    _user, token = pro
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT | {"top": 51}, headers=bearer(token))
    assert r.status_code == 403 and "top 50" in r.json()["detail"]
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT | {"category": "Spaceships"}, headers=bearer(token))
    assert r.status_code == 422 and "category" in r.json()["detail"]
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT | {"price": -1}, headers=bearer(token))
    assert r.status_code == 422 and "price" in r.json()["detail"]
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT | {"countries": ["XX"]}, headers=bearer(token))
    assert r.status_code == 422 and "XX" in r.json()["detail"]
    # Quota: the same monthly counter as the app.
    basic_like = new_user(sqlite_db, "pro")
    _i, t2 = apikeys.create_key(sqlite_db, basic_like, "q")
    with sqlite_db.session() as s:
        s.add(
            models.Usage(
                user_id=basic_like.id,
                period=accounts.period_of(datetime.now(UTC)),
                forecasts=get_tier("pro").forecasts_per_month,
            )
        )
    r = demo_api.post("/api/v1/forecasts", json=PRODUCT, headers=bearer(t2))
    assert r.status_code == 403 and "forecasts of the Pro plan" in r.json()["detail"]


def test_someone_elses_forecast_is_404(sqlite_db, demo_api, pro) -> None:
    _user, token = pro
    other = new_user(sqlite_db, "master")
    _i, other_token = apikeys.create_key(sqlite_db, other, "o")
    fid = demo_api.post(
        "/api/v1/forecasts", json=PRODUCT | {"countries": ["NL"]}, headers=bearer(other_token)
    ).json()["id"]
    for path in (
        f"/api/v1/forecasts/{fid}",
        f"/api/v1/forecasts/{fid}/export.csv",
        f"/api/v1/forecasts/{fid}/export.pdf",
    ):
        assert demo_api.get(path, headers=bearer(token)).status_code == 404
    assert demo_api.post(f"/api/v1/forecasts/{fid}/agents", headers=bearer(token)).status_code == 404


def test_agents_and_pdf_at_the_plans_depth(pro, sqlite_db, tmp_path) -> None:
    """The agents answer 202 with a status URL; a worker (on a queue of this test's own) runs them at the
    plan's depth; the PDF then carries them."""
    from pypdf import PdfReader

    _user, token = pro
    url = private_queue(sqlite_db, tmp_path)
    settings = load_settings(
        database_url=sqlite_db.url,
        demo_mode=True,
        stripe_secret_key=None,
        openai_api_key=None,
        jobs_database_url=url,
    )
    worker = start_worker(sqlite_db.url, tmp_path / "worker.log", JOBS_DATABASE_URL=url)
    try:
        with TestClient(create_app(settings, sqlite_db)) as client:
            fid = client.post(
                "/api/v1/forecasts", json=PRODUCT | {"countries": ["TR"]}, headers=bearer(token)
            ).json()["id"]
            out = client.post(f"/api/v1/forecasts/{fid}/agents", json={"budget": 500}, headers=bearer(token))
            assert out.status_code == 202, out.text
            assert out.json()["status"] in ("queued", "running")
            assert out.json()["status_url"] == f"/api/v1/jobs/{out.json()['id']}"
            deadline = time.monotonic() + 120
            while (job := client.get(out.json()["status_url"], headers=bearer(token)).json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline
                time.sleep(0.3)
            pdf = client.get(f"/api/v1/forecasts/{fid}/export.pdf", headers=bearer(token))
    finally:
        stop(worker)
    assert job["status"] == "done", job
    results = job["result"]
    assert list(results) == [
        "product_analyst",
        "market_profiler",
        "advertising_planner",
        "supply_chain_advisor",
        "sales_strategy",
    ]
    assert results["advertising_planner"]["budget_usd_month"] == 500
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Bath towel set" in text and "report depth: detailed" in text and "Advertising Planner" in text


def test_rate_limit_on_the_plans_minute_budget(sqlite_db, demo_api) -> None:
    """The plan's budget is per account: a second key of the same user shares it (issue 24, item 7)."""
    user = new_user(sqlite_db, "master")
    _info, token = apikeys.create_key(sqlite_db, user, "rl")
    _other, second = apikeys.create_key(sqlite_db, user, "rl-2")
    limit = get_tier("master").api_requests_per_minute
    for _attempt in range(3):  # retried only if the minute turns over between setup and requests
        window = int(time.time() // ratelimit.WINDOW_S)
        with sqlite_db.session() as s:
            s.merge(models.RateCount(key_id=user.id, window=window, count=limit - 1))
        last_ok = demo_api.get("/api/v1/subscriptions/me", headers=bearer(token))  # request number `limit`
        over = demo_api.get(
            "/api/v1/subscriptions/me", headers=bearer(second)
        )  # number limit + 1, another key
        if int(time.time() // ratelimit.WINDOW_S) == window:
            break
    assert last_ok.status_code == 200 and last_ok.headers["X-RateLimit-Remaining"] == "0"
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60
    assert f"over {limit} requests" in over.json()["detail"]


def test_rate_limit_counts_exactly(any_db) -> None:
    db = any_db
    key = f"k-{uuid.uuid4().hex[:8]}"
    t = 1_000_000 * 60.0 + 5
    decisions = [ratelimit.hit(db, key, 5, now=t) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert decisions[0].retry_after == 55 and decisions[4].remaining == 0
    assert ratelimit.hit(db, key, 5, now=t + 60).allowed  # a new minute


def test_two_processes_share_one_rate_limit(any_db) -> None:
    """Two OS processes hitting the same key: exactly ``limit`` requests pass between them."""
    db = any_db
    key = f"shared-{uuid.uuid4().hex[:8]}"
    now = time.time()
    code = (
        "import sys; from core.db.database import Database; from core.accounts import ratelimit; db = Database(sys.argv[1]); "
        "print(sum(ratelimit.hit(db, sys.argv[2], 30, now=float(sys.argv[3])).allowed for _ in range(25)))"
    )
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, db.url, key, str(now)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    allowed = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert sum(allowed) == 30 and all(a >= 5 for a in allowed)


def test_deep_report_in_demo_mode_is_queued_at_once(sqlite_db, demo_api, pro) -> None:
    """Demo mode pays at once and answers 202 with the queued build (tests/test_jobs.py runs it)."""
    _user, token = pro
    fid = demo_api.post(
        "/api/v1/forecasts", json=PRODUCT | {"countries": ["TR"]}, headers=bearer(token)
    ).json()["id"]
    r = demo_api.post(
        "/api/v1/reports/deep", json={"forecast_id": fid, "report_type": "standard"}, headers=bearer(token)
    )
    assert r.status_code == 202, r.text
    rep = r.json()
    assert rep["status"] == "paid" and rep["price_usd"] == 10 and rep["checkout_url"] is None
    assert rep["job"]["status"] == "queued" and r.headers["Location"] == f"/api/v1/reports/{rep['id']}"
    again = demo_api.get(f"/api/v1/reports/{rep['id']}", headers=bearer(token)).json()
    assert again["job"]["id"] == rep["job"]["id"]  # looked at again: the same job, not a second one
    pdf = demo_api.get(f"/api/v1/reports/{rep['id']}/pdf", headers=bearer(token))
    assert pdf.status_code == 202 and pdf.json()["status"] == "paid"
    assert (
        demo_api.post(
            "/api/v1/reports/deep", json={"forecast_id": fid, "report_type": "gold"}, headers=bearer(token)
        ).status_code
        == 422
    )
    other = new_user(sqlite_db, "master")
    _i, other_token = apikeys.create_key(sqlite_db, other, "o")
    assert demo_api.get(f"/api/v1/reports/{rep['id']}", headers=bearer(other_token)).status_code == 404
    assert demo_api.get(f"/api/v1/jobs/{rep['job']['id']}", headers=bearer(other_token)).status_code == 404


def test_deep_report_paid_through_checkout_and_webhook(sqlite_db) -> None:
    import json

    with FakeStripe() as fake:
        app = create_app(settings_for(fake, database_url=sqlite_db.url, openai_api_key=None), sqlite_db)
        with TestClient(app) as client:
            user = new_user(sqlite_db, "master")
            _i, token = apikeys.create_key(sqlite_db, user, "pay")
            fid = client.post(
                "/api/v1/forecasts", json=PRODUCT | {"countries": ["TR"]}, headers=bearer(token)
            ).json()["id"]
            rep = client.post(
                "/api/v1/reports/deep",
                json={"forecast_id": fid, "report_type": "premium"},
                headers=bearer(token),
            ).json()
            assert rep["status"] == "pending_payment" and rep["checkout_url"].startswith(
                "https://checkout.stripe.test/"
            )
            _m, _p, form = fake.requests[-1]
            assert form["mode"] == "payment" and form["line_items[0][price_data][unit_amount]"] == "2500"
            assert form["metadata[deep_report_id]"] == rep["id"]
            assert client.get(f"/api/v1/reports/{rep['id']}/pdf", headers=bearer(token)).status_code == 403
            session = fake.sessions[next(iter(fake.sessions))] | {
                "status": "complete",
                "payment_status": "paid",
                "payment_intent": "pi_1",
            }
            event = {
                "id": f"evt_{uuid.uuid4().hex[:10]}",
                "type": "checkout.session.completed",
                "data": {"object": session},
            }
            payload, header = signed(event)
            forged = client.post("/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"})
            assert forged.status_code == 400
            ok = client.post("/webhook", content=payload, headers={"Stripe-Signature": header})
            assert ok.status_code == 200 and "paid" in ok.json()["message"], ok.text
            assert accounts.get_user(sqlite_db, user_id=user.id).tier == "master"  # the plan is untouched
            # Paid: the webhook queued the build at once (a worker builds it: tests/test_jobs.py) ...
            from core.services import jobs

            queued = jobs.deep_report_job(sqlite_db, app.state.services.settings, user.id, rep["id"])
            assert queued is not None and queued.id == f"deep_report-{rep['id']}"
            # ... and the PDF URL answers 202 with that same job
            building = client.get(f"/api/v1/reports/{rep['id']}/pdf", headers=bearer(token))
            assert building.status_code == 202 and building.json()["job"]["status"] == "queued"
            assert building.json()["job"]["id"] == f"deep_report-{rep['id']}"
            assert (
                client.get(f"/api/v1/reports/{rep['id']}", headers=bearer(token)).json()["status"] == "paid"
            )
            assert json.loads(
                client.post("/webhook", content=payload, headers={"Stripe-Signature": header}).text
            )["message"].endswith("already processed")


def test_webhook_moved_to_the_api(sqlite_db, demo_api) -> None:
    user = new_user(sqlite_db, "basic")
    payload, header = signed(completed_event(user, "pro"))
    assert demo_api.post("/webhook", content=payload, headers={"Stripe-Signature": header}).status_code == 200
    assert accounts.get_user(sqlite_db, user_id=user.id).tier == "pro"
    assert (
        demo_api.post("/webhook", content=payload, headers={"Stripe-Signature": "t=1,v1=00"}).status_code
        == 400
    )


def test_python_m_api_serves_docs_and_bounds_the_webhook_body(sqlite_db, tmp_path) -> None:
    import http.client
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"DATABASE_URL": sqlite_db.url, "STRIPE_WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=2) as r:
                    assert r.status == 200 and b"swagger" in r.read().lower()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the API did not start")

        def post(length: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.putrequest("POST", "/webhook")
            conn.putheader("Content-Length", length)
            conn.endheaders()
            status = conn.getresponse().status
            conn.close()
            return status

        t0 = time.perf_counter()
        assert post(str(200 * 1024 * 1024)) == 413  # answered without reading 200 MB
        assert post("abc") == 400
        assert time.perf_counter() - t0 < 10
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- property-based: every operation of the OpenAPI schema, bounded examples -------------------------------
def _schema_app():
    from core.db.database import Database
    from tests.conftest import SQLITE_URL

    db = Database(SQLITE_URL)
    user = new_user(db, "master")
    _i, token = apikeys.create_key(db, user, "schemathesis")
    app = create_app(
        load_settings(database_url=SQLITE_URL, demo_mode=True, stripe_secret_key=None, openai_api_key=None),
        db,
    )
    return app, token


@pytest.fixture(scope="module")
def api_schema(sqlite_db):
    import schemathesis

    app, token = _schema_app()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.token = token  # type: ignore[attr-defined]
    return schema


def test_openapi_schema_has_docs_and_every_endpoint(demo_api) -> None:
    paths = demo_api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/forecasts",
        "/api/v1/forecasts/{forecast_id}",
        "/api/v1/forecasts/{forecast_id}/export.csv",
        "/api/v1/forecasts/{forecast_id}/export.pdf",
        "/api/v1/forecasts/{forecast_id}/agents",
        "/api/v1/reports/deep",
        "/api/v1/reports/{report_id}",
        "/api/v1/subscriptions/me",
    ):
        assert path in paths, path
    assert demo_api.get("/docs").status_code == 200


def test_no_server_errors_for_any_schema_input(api_schema) -> None:
    """Whatever a client sends that the schema allows, every operation answers without a 5xx
    (Schemathesis strategies from the OpenAPI schema, a bounded number of examples per operation)."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 9
    # issue 24 item 8: no server errors, and every answer is one the schema declares (status code, content
    # type, body shape)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    for op in operations:

        @settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case) -> None:
            case.call_and_validate(headers=bearer(api_schema.token), checks=checks)

        check()


def test_white_label_add_on_through_stripe_leaves_the_plan_alone(sqlite_db) -> None:
    from core import billing
    from core.accounts import branding

    user = new_user(sqlite_db, "master")
    session = {
        "id": "cs_wl",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "client_reference_id": user.id,
        "metadata": {"kind": "white_label", "user_id": user.id},
    }
    done = billing.handle_webhook(
        sqlite_db,
        settings_for(),
        *signed(
            {
                "id": f"evt_{uuid.uuid4().hex[:8]}",
                "type": "checkout.session.completed",
                "data": {"object": session},
            }
        ),
    )
    assert done.status == 200 and "white-label" in done.message
    assert branding.get(sqlite_db, user.id).active
    sub = {
        "id": "sub_wl",
        "object": "subscription",
        "status": "canceled",
        "metadata": {"kind": "white_label", "user_id": user.id},
    }
    gone = billing.handle_webhook(
        sqlite_db,
        settings_for(),
        *signed(
            {
                "id": f"evt_{uuid.uuid4().hex[:8]}",
                "type": "customer.subscription.deleted",
                "data": {"object": sub},
            }
        ),
    )
    assert gone.status == 200 and not branding.get(sqlite_db, user.id).active
    assert (
        accounts.get_user(sqlite_db, user_id=user.id).tier == "master"
    )  # the add-on's end is not the plan's


def test_two_api_servers_share_one_rate_limit_on_postgresql(pg_db) -> None:
    """Two `python -m api` processes on one PostgreSQL: an account's minute budget is spent across both."""
    import socket
    import urllib.error
    import urllib.request

    user = new_user(pg_db, "pro")
    _info, token = apikeys.create_key(pg_db, user, "two servers")
    limit = get_tier("pro").api_requests_per_minute
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    env = os.environ | {"DATABASE_URL": pg_db.url}
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "api", "--port", str(p)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]

    def get(port: int) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/subscriptions/me", headers=bearer(token)
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        for port in ports:  # both up (these two requests count too)
            for _ in range(240):
                try:
                    if get(port) == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail("an API server did not start")
        for _attempt in range(3):  # retried only if the minute turns over mid-test
            window = int(time.time() // ratelimit.WINDOW_S)
            with pg_db.session() as s:
                s.merge(
                    models.RateCount(key_id=user.id, window=window, count=limit - 4)
                )  # the account's budget
            statuses = [get(ports[i % 2]) for i in range(6)]  # alternate between the two servers
            if int(time.time() // ratelimit.WINDOW_S) == window:
                break
        assert statuses == [200, 200, 200, 200, 429, 429], statuses
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=30)


def test_a_forecast_saved_on_a_bigger_plan_is_cut_to_the_current_one(sqlite_db, demo_api) -> None:
    user = new_user(sqlite_db, "master")
    _i, token = apikeys.create_key(sqlite_db, user, "downgrade")
    fid = demo_api.post(
        "/api/v1/forecasts", json=PRODUCT | {"countries": ["DE"]}, headers=bearer(token)
    ).json()["id"]
    accounts.set_tier(sqlite_db, user.email, "pro")
    got = demo_api.get(f"/api/v1/forecasts/{fid}", headers=bearer(token)).json()
    assert len(got["cities"]) == get_tier("pro").max_cities
    csv = demo_api.get(f"/api/v1/forecasts/{fid}/export.csv", headers=bearer(token))
    assert csv.status_code == 200 and len(pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")) == 50


@pytest.fixture(params=["sqlite", "postgresql"])
def api_on(request, sqlite_db):
    """The API on each database, with a Pro key on that database."""
    db = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    app = create_app(
        load_settings(
            database_url=db.url,
            demo_mode=True,
            stripe_secret_key=None,
            stripe_webhook_secret=SECRET,
            openai_api_key=None,
        ),
        db,
    )
    user = new_user(db, "pro")
    with TestClient(app) as client:
        yield client, apikeys.create_key(db, user, "tests")[1]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Towel\x00set"),
        ("description", "soft\x00"),
        ("ships_from", "Istanbul\x00, TR"),
        ("name", "   "),
        ("price", "25"),
        ("price", True),
        ("unit_cost", "10"),
    ],
)
def test_bad_text_and_loose_types_are_422_on_both_databases(api_on, field, value) -> None:
    """Issue 24 items 4 and 7: a NUL byte or a blank name is refused before any SQL (PostgreSQL answered 500);
    numbers must be JSON numbers (no "25" or true)."""
    client, token = api_on
    r = client.post("/api/v1/forecasts", json=PRODUCT | {field: value}, headers=bearer(token))
    assert r.status_code == 422, r.text
    assert field in r.text or field.replace("_", " ") in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/forecasts/abc%00def",
        "/api/v1/forecasts/abc%00def/export.csv",
        "/api/v1/reports/abc%00def",
        "/api/v1/forecasts/not-an-id",
    ],
)
def test_malformed_ids_are_404_on_both_databases(api_on, path) -> None:
    client, token = api_on
    assert client.get(path, headers=bearer(token)).status_code == 404
    r = client.post(
        "/api/v1/reports/deep",
        json={"forecast_id": "abc\x00def", "report_type": "standard"},
        headers=bearer(token),
    )
    assert r.status_code == 404, r.text


def test_health_with_the_database_down_names_no_url_or_host() -> None:
    """Issue 24 item 7: anonymous callers learn that the database is down, not where it is."""
    from core.services import records

    url = "postgresql+psycopg://app:secret@127.0.0.1:9/prod"
    app = create_app(
        load_settings(database_url=url, demo_mode=True, openai_api_key=None), records.connect(url)
    )
    with TestClient(app) as client:
        r = client.get("/health")
    assert r.status_code == 503
    assert "not available" in r.text
    for leak in ("127.0.0.1", "postgresql", "prod", "app:", "secret"):
        assert leak not in r.text, leak


def test_the_key_is_checked_before_the_body_is_read(demo_api, pro) -> None:
    """Issue 24 item 3: no key -> 401 whatever the body (invalid JSON included); a body over the limit -> 413
    before it is read; a valid key with a sane body passes."""
    assert (
        demo_api.post(
            "/api/v1/forecasts", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 401
    )
    big = b"x" * (load_settings().api_max_body_bytes + 1)
    assert demo_api.post("/api/v1/forecasts", content=big).status_code == 413
    _user, token = pro
    assert demo_api.post("/api/v1/forecasts", content=big, headers=bearer(token)).status_code == 413
    assert (
        demo_api.post(
            "/api/v1/forecasts",
            content=b"{not json",
            headers=bearer(token) | {"Content-Type": "application/json"},
        ).status_code
        == 422
    )


def test_a_streamed_body_over_the_limit_is_cut_off(sqlite_db, pro) -> None:
    """Without a Content-Length (chunked), the guard stops reading at the limit."""
    app = create_app(
        load_settings(
            database_url=sqlite_db.url, demo_mode=True, openai_api_key=None, api_max_body_bytes=2_000
        ),
        sqlite_db,
    )
    _user, token = pro

    def chunks():
        for _ in range(100):
            yield b"x" * 1_000

    with TestClient(app) as client:
        assert client.post("/api/v1/forecasts", content=chunks(), headers=bearer(token)).status_code == 413
        ok = client.post(
            "/api/v1/forecasts", json=PRODUCT | {"countries": ["DE"], "top": 5}, headers=bearer(token)
        )
        assert ok.status_code == 201, ok.text


def test_agent_reruns_count_against_the_quota(sqlite_db, demo_api) -> None:
    """Issue 24 item 7: POST /forecasts/{id}/agents counts one forecast; over the quota it is refused (403)
    and stores no agent logs."""
    user = new_user(sqlite_db, "pro")
    _i, token = apikeys.create_key(sqlite_db, user, "agents")
    made = demo_api.post(
        "/api/v1/forecasts",
        headers=bearer(token),
        json={
            "name": "Bath towel set",
            "category": "Home & Garden",
            "price": 25,
            "unit_cost": 9,
            "countries": ["DE"],
        },
    )
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    used = accounts.forecasts_used(sqlite_db, user.id)
    assert demo_api.post(f"/api/v1/forecasts/{fid}/agents", headers=bearer(token)).status_code == 202
    assert accounts.forecasts_used(sqlite_db, user.id) == used + 1
    limit = get_tier("pro").forecasts_per_month
    with sqlite_db.session() as s:
        s.execute(
            models.Usage.__table__.update().where(models.Usage.user_id == user.id).values(forecasts=limit)
        )
    logs = len(records_of(sqlite_db, fid))
    refused = demo_api.post(f"/api/v1/forecasts/{fid}/agents", headers=bearer(token))
    assert refused.status_code == 403 and "quota" in refused.json()["detail"].lower()
    assert len(records_of(sqlite_db, fid)) == logs


def records_of(db, forecast_id: str) -> list:
    from sqlalchemy import select

    with db.session() as s:
        return s.scalars(select(models.AgentLog).where(models.AgentLog.forecast_id == forecast_id)).all()
