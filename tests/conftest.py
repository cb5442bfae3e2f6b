"""Shared fixtures: a seeded SQLite database, a real PostgreSQL, the city arrays."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The whole test session uses its own SQLite file, never the developer's var/app.db.
_TMP = Path(tempfile.mkdtemp(prefix="aicommerce-tests-"))
SQLITE_URL = f"sqlite:///{_TMP / 'test.db'}"
os.environ["DATABASE_URL"] = SQLITE_URL
os.environ["LOGIN_SLEEP_S"] = "0"
os.environ["DEMO_MODE"] = "true"  # demo accounts, as `make run` has them; tests of the default set it off
for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
    os.environ.pop(key, None)

from core.db.database import Database  # noqa: E402
from core.services.seed import seed  # noqa: E402

_CREATOR_PID = os.getpid()
_SESSIONS = 0


def pytest_sessionstart(session) -> None:
    """A test session forked from another (mutmut's runners), or run again in the same process (mutmut runs
    its stats and its clean run with pytest.main one after the other), gets its own database folder: the
    previous one is shared by concurrent runners or already removed. Streamlit's process-wide caches (the
    app's settings, database handle and city arrays) are emptied too, or the pages' AppTests would read the
    previous session's (deleted) database, and so are the project's functools caches."""
    global _TMP, SQLITE_URL, _SESSIONS
    _SESSIONS += 1
    if os.getpid() != _CREATOR_PID or _SESSIONS > 1:
        _TMP = Path(tempfile.mkdtemp(prefix="aicommerce-tests-"))
        SQLITE_URL = f"sqlite:///{_TMP / 'test.db'}"
        os.environ["DATABASE_URL"] = SQLITE_URL
        import streamlit as st

        st.cache_resource.clear()
        st.cache_data.clear()
        _clear_function_caches()


def _clear_function_caches() -> None:
    """Empty the functools caches of the project's modules (tables read once, product readings): in a forked
    mutant run they would hand back what the unmutated code computed in the parent, so a mutant of a cached
    function could never be caught."""
    import sys

    rooms = ("core", "agents", "api", "connectors", "views")
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in rooms:
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


def pytest_sessionfinish(session, exitstatus) -> None:
    shutil.rmtree(_TMP, ignore_errors=True)


# A seeded copy kept for the process that made it and its forks (mutmut runs every mutant in a forked test
# session): a fork copies it (0.1 s) instead of seeding again (about 6 s).
_SEEDED_TEMPLATE = Path(tempfile.gettempdir()) / f"aicommerce-tests-seeded-{_CREATOR_PID}.db"
atexit.register(lambda: os.getpid() == _CREATOR_PID and _SEEDED_TEMPLATE.unlink(missing_ok=True))


def _sqlite_copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


@pytest.fixture(scope="session")
def sqlite_db() -> Iterator[Database]:
    target = Path(SQLITE_URL.removeprefix("sqlite:///"))
    if _SEEDED_TEMPLATE.is_file() and not target.exists():
        _sqlite_copy(_SEEDED_TEMPLATE, target)
    db = Database(SQLITE_URL)
    seed(db)  # on the copy: checks the tables are there and current
    if not _SEEDED_TEMPLATE.is_file():
        _sqlite_copy(target, _SEEDED_TEMPLATE)
    yield db
    db.dispose()


def _postgres_url(tmp_root: Path) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    try:
        import pgserver
    except ImportError:  # pragma: no cover - pgserver is in requirements-dev.txt
        pgserver = None
    if pgserver is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no PostgreSQL: set TEST_DATABASE_URL or install pgserver")
        pytest.skip("no PostgreSQL: set TEST_DATABASE_URL or install pgserver")
    try:
        server = pgserver.get_server(tmp_root / "pgdata", cleanup_mode="stop")
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL could not start: {exc}")
        pytest.skip(f"PostgreSQL could not start: {exc}")
    uri = server.get_uri()
    yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _postgres_url(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    seed(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same data-layer test on SQLite and on a real PostgreSQL."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


@pytest.fixture(scope="session")
def city_frame(sqlite_db: Database):
    from core.db import repo

    return repo.load_cities(sqlite_db)


@pytest.fixture(scope="session")
def ca(city_frame):
    from core.forecast import city_arrays

    return city_arrays(city_frame)
