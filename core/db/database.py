"""The database handle: one engine, sessions, migrations, and errors a user can act on.

Works on SQLite (the embedded default, foreign keys on) and on PostgreSQL 15+
(``postgresql+psycopg://...``). Nothing else in the app creates engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseError

SYSTEM_SCOPE = "*"  # app.user_id of the app's own work: every row visible (migration 0011)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "(unparsable URL)"


def database_error(exc: BaseException, url: str) -> DatabaseError:
    """The DatabaseError to raise for a driver failure: its message (``describe``) names no URL, host or
    path, since it may reach anonymous visitors and API clients; ``detail`` keeps where and what, with the
    password hidden, for the log of whoever catches it."""
    err = DatabaseError(describe(exc, url))
    safe = make_url(url).render_as_string(hide_password=True)
    err.detail = f"database failure at {safe}: {type(exc).__name__}: {_first_line(exc)}"
    return err


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__


def describe(exc: BaseException, url: str) -> str:
    """A one-line, actionable description of a database failure that names no URL, host or path."""
    msg = _first_line(exc)
    low = msg.lower()
    if "file is not a database" in low or "malformed" in low:
        return "the database is not available: its file is corrupt (the operator moves it away and runs `python -m core seed`)"
    if "locked" in low:
        return "the database is busy (locked by another process); try again in a moment"
    if (
        "connection refused" in low
        or "could not connect" in low
        or "connection failed" in low
        or "timeout" in low
    ):
        return "the database is not available: cannot reach the database server; try again later (details are in the server log)"
    if "unable to open database file" in low:
        return "the database is not available: its file cannot be opened (details are in the server log)"
    return "the database is not available (details are in the server log)"


class Database:
    """Owns the engine and hands out sessions and connections."""

    def __init__(self, url: str, *, echo: bool = False, create: bool = True) -> None:
        """``create=False`` (read-only commands) refuses a SQLite file that does not exist yet instead of
        creating an empty database and its folders."""
        self.url = url
        try:
            parsed = make_url(url)
        except sa_exc.ArgumentError as exc:
            raise DatabaseError(f"DATABASE_URL is not a valid SQLAlchemy URL: {_safe(url)}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise DatabaseError(
                f"DATABASE_URL uses {self.dialect!r}; this app supports sqlite:/// and "
                "postgresql+psycopg:// only"
            )
        kwargs: dict = {"echo": echo, "pool_pre_ping": True}
        if self.dialect == "sqlite":
            db_path = parsed.database
            if db_path and db_path != ":memory:":
                if not create and not Path(db_path).is_file():
                    raise DatabaseError(
                        f"no database at {db_path}; run `python -m core seed` (or `make run`) first"
                    )
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 5, "check_same_thread": False}
        elif self.dialect == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 5}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
            raise DatabaseError(
                f"DATABASE_URL cannot be used ({type(exc).__name__}); check the driver part, "
                "e.g. postgresql+psycopg://"
            ) from exc
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, user_id: str | None = None) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        On PostgreSQL the transaction is scoped for row-level security (migration 0011): with ``user_id``
        only that user's rows of the user-owned tables are visible, whatever the queries forget; without it
        the session is the app's system work and sees every row (``SYSTEM_SCOPE``)."""
        try:
            with self._sessions.begin() as sess:
                if self.dialect == "postgresql":
                    scope = str(user_id) if user_id else SYSTEM_SCOPE
                    sess.execute(text("SELECT set_config('app.user_id', :scope, true)"), {"scope": scope})
                yield sess
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise database_error(exc, self.url) from exc

    def insert(self, table):
        """The dialect's INSERT for ``table`` (SQLite's or PostgreSQL's), which has ``on_conflict_do_nothing``
        and ``on_conflict_do_update``: the one place the two dialects' upserts differ."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def check(self) -> None:
        """Raise DatabaseError unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (sa_exc.OperationalError, sa_exc.DatabaseError, sa_exc.InterfaceError) as exc:
            raise database_error(exc, self.url) from exc

    # --- migrations -------------------------------------------------------------------
    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def head_revision(self) -> str:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head() or ""

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration.

        Refuses a database stamped with a revision this code does not know (a newer app made it).
        """
        cfg = self._alembic_config()
        script = ScriptDirectory.from_config(cfg)
        try:
            current = self.current_revision()
            if current is not None and current not in {s.revision for s in script.walk_revisions()}:
                raise DatabaseError(
                    f"the database is at schema revision {current}, which this version of the app "
                    "does not know (it was made by a newer version); upgrade the app or use another database"
                )
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except (sa_exc.OperationalError, sa_exc.DatabaseError, sa_exc.InterfaceError) as exc:
            raise database_error(exc, self.url) from exc

    def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        try:
            return self.current_revision() == self.head_revision()
        except (sa_exc.OperationalError, sa_exc.DatabaseError, sa_exc.InterfaceError) as exc:
            raise database_error(exc, self.url) from exc

    def dispose(self) -> None:
        self.engine.dispose()
