"""Reliability and security probes that failed once (issue 11): each is a regression test now.

docs/security.md lists what is enforced where.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from core import accounts, paths
from core.errors import LimitError
from core.forecast import validate_product
from core.render import exports
from core.services.forecasts import run_forecast
from core.text import md_escape
from tests.helpers import login, submit_forecast_form

BASE = ["forecast", "--name", "Tee", "--category", "166", "--price", "30", "--unit-cost", "8", "--top", "3"]


def cli(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=db_url)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )


def one_line_exit_2(res: subprocess.CompletedProcess[str]) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr


# --- 1 and 4: a page never shows a traceback; the database page on any database failure -----
def _guarded_script(kind: str) -> None:
    import app
    from core.errors import DatabaseError, InputError

    def boom() -> None:
        if kind == "database":
            raise DatabaseError("cannot reach the database server at postgresql://u:***@db/app")
        if kind == "driver":
            import sqlite3

            from sqlalchemy.exc import OperationalError

            raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
        if kind == "input":
            raise InputError("price: must be above zero")
        raise RuntimeError("secret internals /srv/app/core/x.py")

    app.guarded(boom)


@pytest.mark.parametrize(
    ("kind", "title", "message"),
    [
        ("database", "The database is not available", "Cannot reach"),
        ("driver", "The database is not available", "locked"),
        ("input", None, "Price: must be above zero"),
        ("crash", None, "Something went wrong (ref "),
    ],
)
def test_page_guard_turns_errors_into_messages(kind, title, message) -> None:
    at = AppTest.from_function(_guarded_script, args=(kind,)).run()
    assert not at.exception
    if title:
        assert at.title[0].value == title
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not any("internals" in e.value or "Traceback" in e.value for e in at.error)


def test_tracebacks_are_not_sent_to_browsers() -> None:
    config = (paths.ROOT / ".streamlit" / "config.toml").read_text()
    assert 'showErrorDetails = "none"' in config


def test_history_shows_database_page_when_the_database_fails(sqlite_db) -> None:
    """A database that fails after start-up (city data cached): History shows the database page, and
    the app recovers on the next run once the database is back."""
    at = login("pro@demo.local")
    at.switch_page("views/history.py").run()
    assert at.title[0].value == "History"
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE forecasts RENAME TO forecasts_away"))
    try:
        at.run()
        assert not at.exception
        assert "The database is not available" in [t.value for t in at.title]
    finally:
        with sqlite_db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE forecasts_away RENAME TO forecasts"))
    at.run()
    assert at.title[0].value == "History"


# --- 6: command-line bad input is exit 2 and one line; read-only commands create nothing -----
@pytest.mark.parametrize("where", ["missing-folder", "proc", "folder"])
def test_forecast_out_that_cannot_be_written(sqlite_db, tmp_path, where) -> None:
    out = {
        "missing-folder": str(tmp_path / "nope" / "x.csv"),
        "proc": "/proc/version",
        "folder": str(tmp_path),
    }[where]
    one_line_exit_2(cli(*BASE, "--out", out, db_url=sqlite_db.url))


def test_calibrate_checks_the_report_path_before_writing_anything(sqlite_db, tmp_path) -> None:
    sales = tmp_path / "s.csv"
    sales.write_text("city,country,units\nBerlin,DE,5\nHamburg,DE,3\nMunich,DE,4\nKöln,DE,2\nBremen,DE,1\n")
    pred = tmp_path / "pred.csv"
    res = cli(
        "calibrate",
        "--sales",
        str(sales),
        "--category",
        "166",
        "--price",
        "30",
        "--unit-cost",
        "8",
        "--out",
        str(pred),
        "--report",
        str(tmp_path / "missing" / "r.json"),
        db_url=sqlite_db.url,
    )
    one_line_exit_2(res)
    assert not pred.exists()  # nothing half-written


@pytest.mark.parametrize("url", ["foo://bar", "mysql://user@localhost/app", "not a url"])
def test_unsupported_database_urls(url) -> None:
    one_line_exit_2(cli("users", "list", db_url=url))


def test_read_only_commands_do_not_create_a_database(tmp_path) -> None:
    target = tmp_path / "nonexistent" / "x" / "app.db"
    res = cli("users", "list", db_url=f"sqlite:///{target}")
    one_line_exit_2(res)
    assert "seed" in res.stderr
    assert not target.parent.exists()


def test_agents_out_checked_first(sqlite_db, tmp_path) -> None:
    env = dict(os.environ, DATABASE_URL=sqlite_db.url)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents",
            "run",
            "--name",
            "Tee",
            "--category",
            "166",
            "--price",
            "30",
            "--unit-cost",
            "8",
            "--out",
            str(tmp_path / "no" / "a.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )
    one_line_exit_2(res)


# --- 7: user text is shown as text --------------------------------------------------------
def test_markdown_in_a_product_name_is_not_rendered(sqlite_db) -> None:
    name = "Towels ![x](http://attacker.example/p.png) **bold**"
    at = login("master@demo.local")
    submit_forecast_form(at, name, "Home & Garden", 25.0, 10.0, ["DE"])
    assert at.title[0].value == "Results"
    sources = [m.value for m in at.subheader] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert md_escape(name) in sources
    assert not any("](http://attacker.example" in s for s in sources)


def test_md_escape_neutralises_links_images_and_html() -> None:
    for text_ in (
        "![x](http://h/p.png)",
        "[click](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        "**b** _i_",
    ):
        escaped = md_escape(text_)
        assert re.search(r"(?<!\\)[\[\]()<>*!_]", escaped) is None, escaped  # every special character escaped
        assert escaped.replace("\\", "") == text_  # nothing lost: the characters are shown as typed


# --- 8: the quota is charged only for a saved forecast ---------------------------------------
def test_quota_is_not_charged_when_saving_fails(sqlite_db, ca) -> None:
    """The charge and the save are one transaction: a failure while saving (here a real one, a trigger
    that aborts the results insert) leaves the usage as it was."""
    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@quota.example", "a-long-password", tier="basic"
    )
    product = validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4)
    with sqlite_db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER fail_results BEFORE INSERT ON forecast_results "
                "BEGIN SELECT RAISE(ABORT, 'killed'); END"
            )
        )
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises, nothing is charged
            run_forecast(sqlite_db, ca, product, ["DE"], user=user)
    finally:
        with sqlite_db.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER fail_results"))
    assert accounts.forecasts_used(sqlite_db, user.id) == 0
    run_forecast(sqlite_db, ca, product, ["DE"], user=user)
    assert accounts.forecasts_used(sqlite_db, user.id) == 1


def test_quota_refusal_is_a_sentence(sqlite_db, ca) -> None:
    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@quota.example", "a-long-password", tier="basic"
    )
    with sqlite_db.session() as s:
        for _ in range(user.plan.forecasts_per_month):
            accounts.reserve_forecast(sqlite_db, user, session=s)
    with pytest.raises(LimitError, match=r"^You have used all \d+ forecasts"):
        run_forecast(
            sqlite_db,
            ca,
            validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4),
            ["DE"],
            user=user,
        )


# --- 10: logs never carry secrets ---------------------------------------------------------
@pytest.mark.parametrize(
    "secret",
    [
        "Bearer sk-proj-Abc123def456GHI789",
        "sk_live_51HxYzAbCdEfGh",
        "whsec_1234567890abcdef",
        "postgresql+psycopg://app:hunter2pass@db/app",
        "api_key=abcd1234efgh",
    ],
)
def test_log_redaction(secret) -> None:
    from core.logs import redact

    out = redact(f"upstream said: {secret}")
    assert "redacted" in out
    for part in ("Abc123def456GHI789", "51HxYzAbCdEfGh", "1234567890abcdef", "hunter2pass", "abcd1234efgh"):
        assert part not in out


# --- 11: CSV cells with line breaks --------------------------------------------------------
def test_csv_cell_with_bare_cr_is_quoted() -> None:
    import pandas as pd

    data = exports.csv_bytes(pd.DataFrame({"city": ["\r=1"], "n": [1]}))
    assert b'"\'\r=1"' in data


def test_security_doc_exists() -> None:
    doc = Path(paths.ROOT / "docs" / "security.md").read_text()
    for topic in ("threat model", "webhook", "quota", "demo mode", "tests/test_reliability.py"):
        assert topic.lower() in doc.lower(), topic


def test_sqlite_lock_is_a_database_message_not_a_driver_error(sqlite_db, ca) -> None:
    """Another process holds BEGIN EXCLUSIVE: the forecast is refused with the database's message (a
    DatabaseError the pages show as the database page), not a raw OperationalError, and nothing is charged."""
    import sqlite3

    from core.errors import DatabaseError

    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@lock.example", "a-long-password", tier="basic"
    )
    holder = sqlite3.connect(sqlite_db.url.removeprefix("sqlite:///"), timeout=1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            run_forecast(
                sqlite_db,
                ca,
                validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4),
                ["DE"],
                user=user,
            )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert accounts.forecasts_used(sqlite_db, user.id) == 0


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("unknown category 'x'", "Unknown category 'x'"),
        ("", ""),
        ("Already upper", "Already upper"),
        ("élan", "Élan"),
    ],
)
def test_messages_are_shown_as_sentences(raw: str, shown: str) -> None:
    """Issue 25.12: pages show domain messages with a capital first letter (the CLI keeps "error: ...")."""
    from core.text import sentence

    assert sentence(raw) == shown
    assert sentence(ValueError(raw)) == shown


def test_load_summary_keeps_the_shape_scripts_read() -> None:
    """Issue 26: `bench/load.py --json` prints one object per level in a fixed shape."""
    from bench.load import ACTIONS, level_summary, p

    out = {
        0: {"login": 1.0, "forecast": 2.0, "slider": 0.2, "map": 0.5, "csv": 0.01},
        1: {"login": 3.0, "forecast": 4.0, "error": "during slider: timeout"},
        2: {"login": 2.0, "forecast": 3.0, "slider": 0.4, "map": 0.7, "csv": 0.02},
    }
    s = level_summary(40, out, 12.34, 987.6)
    assert set(s) == {"n", "errors", "p50_s", "p95_s", "p99_s", "server_cpu_s", "rss_mb"}
    assert s["n"] == 40 and s["errors"] == 1 and s["server_cpu_s"] == 12.3 and s["rss_mb"] == 988
    for key in ("p50_s", "p95_s", "p99_s"):
        assert set(s[key]) == set(ACTIONS)
    assert s["p95_s"]["login"] == round(p([1.0, 3.0, 2.0], 95), 3) and s["p50_s"]["slider"] == round(
        p([0.2, 0.4], 50), 3
    )
    assert level_summary(1, {0: {"error": "during login: x"}}, None, None)["p50_s"]["login"] is None


def test_no_full_garbage_collection_after_every_script_run() -> None:
    """Streamlit's default runs gc.collect(2) after each script run: with the app's ~300,000 long-lived
    objects that was half the server's Python CPU under load (docs/performance.md, session 13)."""
    from streamlit import config as st_config

    st_config._config_options = None  # read .streamlit/config.toml as `streamlit run` does
    st_config.get_config_options(force_reparse=True)
    assert st_config.get_option("runner.postScriptGC") is False
