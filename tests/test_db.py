"""The data layer on SQLite and on a real PostgreSQL; database failures give clear messages."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import text

from core import paths
from core.db import repo
from core.db.database import Database
from core.db.seed import is_seeded
from core.errors import DatabaseError
from core.services.seed import seed


def test_seeded_and_current(any_db: Database) -> None:
    assert any_db.is_current()
    assert is_seeded(any_db)
    assert repo.count_cities(any_db) == 34_003


def test_seed_is_idempotent(any_db: Database) -> None:
    report = seed(any_db)
    assert report.loaded is False
    assert repo.count_cities(any_db) == 34_003


def test_cities_round_trip(any_db: Database) -> None:
    loaded = repo.load_cities(any_db).set_index("city_id").sort_index()
    shipped = pd.read_parquet(paths.CITIES_FILE).set_index("city_id").sort_index()
    for col in ["name", "admin1", "country_iso2", "income_flag"]:
        assert (loaded[col] == shipped[col]).all(), col
    for col in ["population", "gdp_per_capita_ppp", "online_buyers_pct", "lat", "lon"]:
        assert loaded[col].to_numpy() == pytest.approx(shipped[col].to_numpy(), rel=1e-9), col


def test_countries_round_trip(any_db: Database) -> None:
    countries = repo.load_countries(any_db)
    assert len(countries) == 231
    usa = countries.set_index("iso3").loc["USA"]
    assert usa["online_buyers_pct"] == 75


def test_foreign_keys_enforced(any_db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), any_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO forecast_results (forecast_id, city_id, rank, demand_score, competition_index,"
                " profitability_score, opportunity_score, expected_units_month, expected_units_low,"
                " expected_units_high, expected_revenue_usd_month, recommended_price_usd, terms)"
                " VALUES ('no-such-forecast', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')"
            )
        )


def test_fresh_database_migrates_from_empty(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert db.current_revision() is None
    db.migrate()
    assert db.is_current()
    assert not is_seeded(db)


def test_newer_database_is_refused(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'newer.db'}")
    db.migrate()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(DatabaseError, match="newer version"):
        db.migrate()


def test_corrupt_file_is_reported(tmp_path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="corrupt"):
        Database(f"sqlite:///{path}").migrate()


def test_locked_database_is_reported(tmp_path) -> None:
    from sqlalchemy import event

    path = tmp_path / "locked.db"
    Database(f"sqlite:///{path}").migrate()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = Database(f"sqlite:///{path}")
        # Wait 0.1 s instead of the default 5 s before giving up on the lock.
        event.listen(locked.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA busy_timeout=100"))
        with pytest.raises(DatabaseError, match="locked"):
            locked.migrate()
    finally:
        holder.rollback()
        holder.close()


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )


def test_seed_cli_on_down_server() -> None:
    res = _cli("seed", url="postgresql+psycopg://nobody:pw@127.0.0.1:1/none")
    assert res.returncode == 2
    assert "cannot reach the database server" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_seed_cli_on_corrupt_file(tmp_path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"garbage" * 1000)
    res = _cli("seed", url=f"sqlite:///{path}")
    assert res.returncode == 2
    assert "corrupt" in res.stderr and "Traceback" not in res.stderr


def test_seed_cli_on_newer_database(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'newer.db'}")
    db.migrate()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    res = _cli("seed", url=db.url)
    assert res.returncode == 2
    assert "newer version" in res.stderr and "Traceback" not in res.stderr


def test_seed_cli_on_bad_url() -> None:
    res = _cli("seed", url="not a url")
    assert res.returncode == 2
    assert "DATABASE_URL" in res.stderr


def test_a_secret_made_once_is_the_same_in_every_process(any_db) -> None:
    """Replicas starting together agree on the generated demo secrets (cookie key, connector key):
    the first insert wins, the others read it (repo.meta_once)."""
    import uuid

    key = f"test_secret_{uuid.uuid4().hex[:8]}"
    code = (
        "import sys, secrets; from core.db.database import Database; from core.db.repo import meta_once; "
        "print(meta_once(Database(sys.argv[1], create=False), sys.argv[2], lambda: secrets.token_hex(16)))"
    )
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, any_db.url, key], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(3)
    ]
    values = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert values == {repo.get_meta(any_db, key)} and len(next(iter(values))) == 32
