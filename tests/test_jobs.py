"""Background jobs (issue 26): deep reports and agent reruns queued by the use cases, run by a real worker
process (``python -m agents.worker``) on SQLite and on PostgreSQL; a killed worker's job is picked up by the
next worker; a job is queued once and read only by its owner. (The API's 202 answers: tests/test_api.py; the
pages: tests/test_app_flow.py.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from core import accounts, jobs
from core.accounts.tiers import get_tier
from core.billing import deep_reports
from core.errors import AccessError, LimitError
from core.forecast import ProductInput
from core.services import jobs as job_service
from core.services.forecasts import run_forecast
from core.settings import load_settings
from tests.fake_openai import FakeOpenAI
from tests.helpers import private_queue, start_worker, stop

pytestmark = pytest.mark.timeout(300)


def wait_for(url: str, job_id: str, user_id: str, *, until=("done", "failed"), timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        info = jobs.get(url, job_id, user_id)
        if info.status in until or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def queue_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(database, worker process) on each database, one worker for the module's tests on it."""
    db = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    proc = start_worker(db.url, tmp_path_factory.mktemp("worker") / "worker.log")
    yield db, proc
    stop(proc)


def settings_for(db):
    return load_settings(database_url=db.url, demo_mode=True, stripe_secret_key=None, openai_api_key=None)


def forecast_for(db, ca, tier: str = "pro"):
    user = accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@jobs.example", "a-long-password", tier=tier)
    product = ProductInput(name="Bath towel set", category="Home & Garden", price=25.0, unit_cost=10.0)
    return user, run_forecast(db, ca, product, ["TR"], user=user)


def test_a_deep_report_is_built_by_the_worker_once(queue_db, ca) -> None:
    db, _proc = queue_db
    settings = settings_for(db)
    user, fid = forecast_for(db, ca)
    report = deep_reports.create(db, settings, user, fid, "standard")
    assert report.status == "paid"  # demo mode: paid at once, not built in the caller
    job = job_service.build_deep_report(db, settings, user.id, report.id)
    assert job is not None and job.kind == jobs.DEEP_REPORT and job.status in ("queued", "running")
    again = job_service.build_deep_report(db, settings, user.id, report.id)
    assert again is not None and again.id == job.id  # asked twice: one job
    url = job_service.queue_url(db, settings)
    done = wait_for(url, job.id, user.id)
    assert done.status == "done", done.error
    assert done.result["status"] == "ready" and done.result["id"] == report.id
    assert deep_reports.get(db, user.id, report.id).status == "ready"
    assert (deep_reports.pdf(db, user.id, report.id) or b"").startswith(b"%PDF")
    assert job_service.build_deep_report(db, settings, user.id, report.id) is None  # built: nothing queued
    other = accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@jobs.example", "a-long-password", tier="pro")
    with pytest.raises(AccessError):
        job_service.job(db, settings, other.id, job.id)
    with pytest.raises(AccessError):
        job_service.job(db, settings, user.id, "deep_report-not-a-job")


def test_an_agents_rerun_counts_once_and_stores_the_agents_results(queue_db, ca) -> None:
    from core.services import records

    db, _proc = queue_db
    settings = settings_for(db)
    user, fid = forecast_for(db, ca)
    before = len(records.load_agent_results(db, fid))
    used = accounts.forecasts_used(db, user.id)
    job = job_service.rerun_agents(db, settings, user, fid, 750.0)
    assert accounts.forecasts_used(db, user.id) == used + 1
    done = wait_for(job_service.queue_url(db, settings), job.id, user.id)
    assert done.status == "done", done.error
    assert list(done.result) == [
        "product_analyst",
        "market_profiler",
        "advertising_planner",
        "supply_chain_advisor",
        "sales_strategy",
    ]
    assert done.result["advertising_planner"]["budget_usd_month"] == 750.0
    assert len(records.load_agent_results(db, fid)) == 5 and before == 0


def test_an_agents_rerun_over_the_quota_queues_nothing(sqlite_db, ca) -> None:
    from core.db import models

    settings = settings_for(sqlite_db)
    user, fid = forecast_for(sqlite_db, ca, "basic")
    limit = get_tier("basic").forecasts_per_month
    with sqlite_db.session() as s:
        s.execute(
            models.Usage.__table__.update().where(models.Usage.user_id == user.id).values(forecasts=limit)
        )
    url = job_service.queue_url(sqlite_db, settings)
    before = len(_client_jobs(url, user.id))
    with pytest.raises(LimitError):
        job_service.rerun_agents(sqlite_db, settings, user, fid)
    assert len(_client_jobs(url, user.id)) == before
    other = accounts.create_user(sqlite_db, f"{uuid.uuid4().hex[:10]}@jobs.example", "a-long-password")
    with pytest.raises(AccessError):  # not the user's forecast: nothing counted, nothing queued
        job_service.rerun_agents(sqlite_db, settings, other, fid)
    assert accounts.forecasts_used(sqlite_db, other.id) == 0


def _client_jobs(url: str, user_id: str) -> list:
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=url)
    try:
        return [w for w in client.list_workflows() if w.authenticated_user == user_id]
    finally:
        client.destroy()


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_a_killed_workers_job_is_picked_up_by_the_next_worker(which, request, ca, tmp_path) -> None:
    """The first worker is killed (SIGKILL) while the job waits on a slow LLM server; a new worker with
    the same id resumes it and finishes it (with the template writer: it has no LLM configured)."""
    db = request.getfixturevalue("sqlite_db" if which == "sqlite" else "pg_db")
    url = private_queue(db, tmp_path)
    settings = load_settings(database_url=db.url, demo_mode=True, openai_api_key=None, jobs_database_url=url)
    user, fid = forecast_for(db, ca)
    worker_id = f"w-{uuid.uuid4().hex[:6]}"
    with FakeOpenAI(mode="timeout", delay_s=30) as slow:
        first = start_worker(
            db.url,
            tmp_path / "first.log",
            JOBS_DATABASE_URL=url,
            JOBS_WORKER_ID=worker_id,
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=slow.url,
            OPENAI_TIMEOUT_S="60",
        )
        try:
            job = job_service.rerun_agents(db, settings, user, fid)
            running = wait_for(url, job.id, user.id, until=("running",), timeout=60)
            deadline = time.monotonic() + 60
            while slow.calls == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert running.status == "running" and slow.calls >= 1  # inside the job, waiting on the LLM
            first.kill()
            first.wait(timeout=10)
        finally:
            stop(first)
        assert jobs.get(url, job.id, user.id).status == "running"  # nobody is on it now
        second = start_worker(
            db.url, tmp_path / "second.log", JOBS_DATABASE_URL=url, JOBS_WORKER_ID=worker_id
        )
        try:
            done = wait_for(url, job.id, user.id)
        finally:
            stop(second)
    assert done.status == "done", done.error
    assert done.result["product_analyst"]["writer"] == "template"


def test_the_queue_depth_is_in_the_api_metrics(sqlite_db, ca, tmp_path) -> None:
    """Jobs waiting in the queue show in /metrics (aicommerce_job_queue), read at each scrape."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    url = private_queue(sqlite_db, tmp_path)
    settings = load_settings(
        database_url=sqlite_db.url, demo_mode=True, openai_api_key=None, jobs_database_url=url
    )
    user, fid = forecast_for(sqlite_db, ca)
    with TestClient(create_app(settings, sqlite_db)) as client:
        before = client.get("/metrics").text
        assert 'aicommerce_job_queue{state="queued"} 0.0' in before
        for _ in range(2):  # no worker listens on this queue: both wait
            job_service.rerun_agents(sqlite_db, settings, user, fid)
        after = client.get("/metrics").text
    assert 'aicommerce_job_queue{state="queued"} 2.0' in after
    assert 'aicommerce_job_queue{state="running"} 0.0' in after


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_a_marketplace_sync_is_one_job_per_connection_at_a_time(which, request, tmp_path) -> None:
    """A sync is a background job: asked twice while queued it is one job; the worker imports the orders
    (the connection row counts them); a later sync is a new job; a refused token fails the job and the
    message is on the connection; someone else's or a removed connection queues nothing."""
    from core.accounts import connections
    from tests.fake_marketplaces import FakeShopify, shopify_order

    db = request.getfixturevalue("sqlite_db" if which == "sqlite" else "pg_db")
    url = private_queue(db, tmp_path)
    user = accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@jobs.example", "a-long-password", tier="pro")
    orders = [shopify_order(i, "Berlin", "BE", "DE") for i in range(1_200)]
    with FakeShopify(orders) as fake:
        settings = load_settings(
            database_url=db.url, demo_mode=True, jobs_database_url=url, shopify_api_base=fake.url
        )
        conn = connections.add(
            db, settings, user, "shopify", {"shop": "t.myshopify.com", "access_token": "shpat_test"}
        )
        first = job_service.start_sync(db, settings, user.id, conn.id)  # no worker yet: it waits
        assert first.kind == jobs.CONNECTION_SYNC and first.status == "queued"
        assert job_service.start_sync(db, settings, user.id, conn.id).id == first.id  # one at a time
        assert job_service.sync_job(db, settings, user.id, conn.id).id == first.id
        other = accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@jobs.example", "a-long-password")
        with pytest.raises(AccessError):
            job_service.start_sync(db, settings, other.id, conn.id)
        assert job_service.sync_job(db, settings, other.id, conn.id) is None
        worker = start_worker(db.url, tmp_path / "w.log", JOBS_DATABASE_URL=url, SHOPIFY_API_BASE=fake.url)
        try:
            done = wait_for(url, first.id, user.id)
            assert done.status == "done", done.error
            assert done.result == {"connection_id": conn.id, "status": "ok", "orders": 1_200, "skipped": 0}
            assert connections.get(db, user.id, conn.id).orders == 1_200
            assert job_service.sync_job(db, settings, user.id, conn.id) is None  # finished: none running
            fake.fail_next = [401]
            second = job_service.start_sync(db, settings, user.id, conn.id)
            assert second.id != first.id
            failed = wait_for(url, second.id, user.id)
        finally:
            stop(worker)
    assert failed.status == "failed"
    after = connections.get(db, user.id, conn.id)
    assert after.status == "error" and "refused the access token" in after.last_error
    connections.revoke(db, user.id, conn.id)
    with pytest.raises(AccessError, match="removed"):
        job_service.start_sync(db, settings, user.id, conn.id)
