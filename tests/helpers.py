"""Test helpers (not fixtures): signing in through the real login form; a background-job worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PATH = str(ROOT / "app.py")
DEMO_PASSWORD = "demo-password"


def login(email: str = "master@demo.local", password: str = DEMO_PASSWORD, timeout: int = 90):
    """An AppTest of the app, signed in through the real login form."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=timeout).run()
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    # In a browser the cookie component's answer reruns the script into the app (app._login); AppTest
    # has no browser to answer, so run once more as that answer would.
    if at.session_state["authentication_status"]:
        at.run()
    return at


def submit_forecast_form(at, name: str, category: str, price: float, unit_cost: float, countries=()):
    """Fill New Forecast (the page ``at`` is on) and press Run; returns ``at`` on the page that follows."""
    at.text_input(key="nf_name").input(name)
    at.selectbox(key="nf_category").select(category)
    at.number_input(key="nf_price").set_value(price)
    at.number_input(key="nf_unit_cost").set_value(unit_cost)
    if countries:
        at.multiselect(key="nf_countries").set_value(list(countries))
    at.button[0].click().run()
    return at


def start_worker(db_url: str, log: Path, **env: str) -> subprocess.Popen:
    """A worker process on ``db_url``; returns once it listens on the queue (its log says so)."""
    full = os.environ | {
        "DATABASE_URL": db_url,
        "JOBS_WORKER_ID": f"test-{uuid.uuid4().hex[:8]}",  # two workers never share an id (recovery)
        "JOBS_POLL_S": "0.2",
        "JOBS_CONCURRENCY": "2",  # a job another test left queued does not hold up this test's
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    full.pop("OPENAI_API_KEY", None)
    full.update(env)
    out = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.worker"], cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while "listening on queue" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def agents_written(at, db, timeout_s: float = 120):
    """Wait until the background job writing the open forecast's agents has finished (a worker must run),
    then run the page again so it shows them; returns ``at``."""
    from core import jobs
    from core.services.jobs import queue_url
    from core.settings import load_settings

    try:
        running = at.session_state["_agent_jobs"]
    except KeyError:  # AppTest's session state has no .get
        running = {}
    job_id = running.get(at.session_state["forecast_id"])
    if job_id is None:  # the page saw it finish already
        return at.run()
    url = queue_url(db, load_settings(database_url=db.url))
    deadline = time.monotonic() + timeout_s
    while not jobs.get(url, job_id, at.session_state["user_id"]).finished:
        assert time.monotonic() < deadline, "the agents job did not finish"
        time.sleep(0.2)
    at.run()
    return at.run()


def private_queue(db, tmp_path: Path) -> str:
    """A queue of this test's own (a new SQLite file, or a new PostgreSQL database on the test server), so
    that no job another test left queued and no other worker is in the way."""
    from core.jobs import migrate, system_url

    if db.dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    else:
        import sqlalchemy as sa

        name = f"q_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(db.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        engine.dispose()
        url = system_url(sa.make_url(db.url).set(database=name).render_as_string(hide_password=False))
    migrate(url)
    return url
