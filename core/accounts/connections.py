"""Marketplace connections: credentials encrypted at rest, plan limits, resumable idempotent sync,
and the imported orders as sales by city for calibration (the CSV path's matcher and report).

Sync is page by page: each page's orders and the cursor after it are written in one transaction, so
a sync stopped at any point (crash, restart) resumes from the last committed page and an order is
stored once per connection (its id is the key; a repeated page inserts nothing). A finished sync clears
the cursor and remembers the newest order's date less a day: the next sync asks only for orders since
then (every marketplace filters by creation date), and the overlap is deduplicated by order id.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select

from connectors import base
from core import paths, telemetry
from core.accounts import UserInfo, as_utc
from core.db import models
from core.db.database import Database
from core.db.repo import get_meta
from core.errors import AccessError, AppError, InputError, LimitError, external
from core.settings import Settings

log = logging.getLogger(__name__)

KINDS = {
    "shopify": "Shopify",
    "etsy": "Etsy",
    "amazon": "Amazon",
    "demo": "Demo shop (sample orders, not real sales)",
}
CREDENTIAL_FIELDS = {
    "shopify": ("shop", "access_token"),
    "etsy": ("keystring", "shop_id", "access_token", "refresh_token"),
    "amazon": ("client_id", "client_secret", "refresh_token", "marketplace_ids", "region"),
    "demo": (),
}
CREDENTIAL_LABELS = {  # the form's labels, for messages people can act on
    "shop": "Shop domain",
    "access_token": "Access token",
    "keystring": "App keystring",
    "shop_id": "Shop id",
    "refresh_token": "Refresh token",
    "client_id": "LWA client id",
    "client_secret": "LWA client secret",
    "marketplace_ids": "Marketplace ids",
    "region": "Region",
}
DEMO_KEY_META = "demo_connector_key"
CHECK_TIMEOUT_S = base.CHECK_TIMEOUT_S  # a credential check answers within this (connectors.base.check_mode)
INCREMENTAL_OVERLAP = timedelta(days=1)  # re-asked on the next sync: orders indexed late by the marketplace


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    kind: str
    name: str
    status: str
    orders: int
    skipped: int
    last_sync_at: datetime | None
    last_error: str | None
    created_at: datetime


def _info(c: models.Connection) -> ConnectionInfo:
    return ConnectionInfo(
        c.id,
        c.kind,
        c.name,
        c.status,
        c.orders,
        c.skipped,
        as_utc(c.last_sync_at) if c.last_sync_at else None,
        c.last_error,
        as_utc(c.created_at),
    )


def fernet(db: Database, settings: Settings) -> Fernet:
    """The credential cipher: CONNECTOR_KEY, or (demo mode only) a key generated once and stored."""
    if settings.connector_key is not None:
        try:
            return Fernet(settings.connector_key.get_secret_value().encode())
        except ValueError as exc:
            raise AccessError(
                "CONNECTOR_KEY is not a Fernet key (32 url-safe base64 bytes: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            ) from exc
    if not settings.is_demo:
        raise AccessError(
            "CONNECTOR_KEY is not set: outside demo mode marketplace credentials are not stored "
            "without a key to encrypt them"
        )
    # Demo mode: a key generated once and kept apart from the database it protects (a file under var/,
    # readable by this user only). A demo database made before kept its key in the meta table: that key
    # still decrypts its credentials, and the log says to set CONNECTOR_KEY.
    old = get_meta(db, DEMO_KEY_META)
    if old is not None:
        log.warning(
            "demo mode: the connector key of this database is stored in the database itself; "
            "set CONNECTOR_KEY to keep it apart"
        )
        return Fernet(old.encode())
    return Fernet(demo_key_file())


DEMO_KEY_FILE = "demo_connector.key"


def demo_key_file() -> bytes:
    """The demo connector key from ``var/demo_connector.key`` (mode 0600), created once, atomically."""
    path = paths.VAR_DIR / DEMO_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    log.info("demo mode: connector key created in %s (outside the database)", path)
    return key


def connection_limit(user: UserInfo) -> int | None:
    return user.plan.marketplace_integrations


def add(
    db: Database,
    settings: Settings,
    user: UserInfo,
    kind: str,
    credentials: dict,
    name: str = "",
    since: datetime | None = None,
    test: Callable[[str, dict], str] | None = None,
) -> ConnectionInfo:
    """Store a connection after ``test`` (connect and read the shop's name) succeeds; refuse past the
    plan's number of connections."""
    if kind not in KINDS:
        raise InputError(f"unknown marketplace {kind!r}; use one of {', '.join(KINDS)}", field="kind")
    missing = [f for f in CREDENTIAL_FIELDS[kind] if not str(credentials.get(f) or "").strip()]
    if missing:
        raise InputError(
            f"Fill in {', '.join(CREDENTIAL_LABELS.get(f, f) for f in missing)} to connect {KINDS[kind]}",
            field=missing[0],
        )
    limit = connection_limit(user)
    with db.session() as s:
        active = (
            s.scalar(
                select(func.count())
                .select_from(models.Connection)
                .where(models.Connection.user_id == user.id, models.Connection.status != "revoked")
            )
            or 0
        )
    if limit is not None and active >= limit:
        raise LimitError(
            f"the {user.plan.label} plan includes {limit} marketplace connection"
            f"{'s' if limit != 1 else ''}; remove one or upgrade on the Account page for more"
        )
    cipher = fernet(db, settings)
    shop_name = test(kind, credentials) if test else ""
    with db.session() as s:
        row = models.Connection(
            user_id=user.id,
            kind=kind,
            name=(name or shop_name or KINDS[kind])[:200],
            credentials=cipher.encrypt(json.dumps(credentials).encode()),
            status="new",
            since=since,
        )
        s.add(row)
        s.flush()
        info = _info(row)
    log.info("connection %s (%s) added for user %s", info.id, kind, user.id)
    return info


def list_for(db: Database, user_id: str) -> list[ConnectionInfo]:
    with db.session() as s:
        rows = s.scalars(
            select(models.Connection)
            .where(models.Connection.user_id == user_id)
            .order_by(models.Connection.created_at)
        ).all()
        return [_info(r) for r in rows]


def _own(s, user_id: str | None, connection_id: str) -> models.Connection:
    row = s.get(models.Connection, connection_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise AccessError("that connection does not exist or is not yours")
    return row


def revoke(db: Database, user_id: str, connection_id: str) -> None:
    """Forget the credentials (overwritten) and stop syncing; imported orders stay for calibration."""
    with db.session() as s:
        row = _own(s, user_id, connection_id)
        row.credentials, row.status, row.cursor = secrets.token_bytes(16), "revoked", None
    log.info("connection %s revoked", connection_id)


def credentials(
    db: Database, settings: Settings, connection_id: str, user_id: str | None = None
) -> tuple[str, dict]:
    with db.session() as s:
        row = _own(s, user_id, connection_id)
        if row.status == "revoked":
            raise AccessError("this connection was removed; connect the shop again")
        kind, blob = row.kind, row.credentials
    try:
        return kind, json.loads(fernet(db, settings).decrypt(blob))
    except InvalidToken as exc:
        raise AccessError(
            "the stored credentials cannot be decrypted with this CONNECTOR_KEY; connect again"
        ) from exc


def sync(
    db: Database,
    settings: Settings,
    connection_id: str,
    connector,
    user_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ConnectionInfo:
    """Import new orders page by page from the stored cursor (module doc). ``connector`` is a
    connectors.base.Connector built from ``credentials``; renewed tokens are stored again."""
    with db.session() as s:
        row = _own(s, user_id, connection_id)
        cursor, since, added = row.cursor, row.since, 0
        row.status, row.last_error = "syncing", None
    dialect_insert = _insert(db)
    try:
        for page in _translated(connector.pages(since, cursor)):
            with db.session() as s:
                if page.orders:
                    stmt = (
                        dialect_insert(models.ImportedOrder)
                        .values(
                            [
                                {
                                    "connection_id": connection_id,
                                    "order_id": o.order_id,
                                    "created_at": o.created_at,
                                    "city": o.city[:200],
                                    "region": o.region[:200],
                                    "country": o.country,
                                    "quantity": o.quantity,
                                    "amount": o.amount,
                                }
                                for o in page.orders
                            ]
                        )
                        .on_conflict_do_nothing()
                    )
                    added += max(s.execute(stmt).rowcount or 0, 0)
                row = _own(s, None, connection_id)
                row.skipped += page.skipped
                if page.next_cursor is not None:
                    row.cursor = page.next_cursor
                else:  # done: the next sync asks for orders since the newest one (a day's overlap; ids dedupe)
                    newest = s.scalar(
                        select(func.max(models.ImportedOrder.created_at)).where(
                            models.ImportedOrder.connection_id == connection_id
                        )
                    )
                    row.cursor, row.since = (
                        None,
                        (as_utc(newest) - INCREMENTAL_OVERLAP) if newest else row.since,
                    )
                row.orders = (
                    s.scalar(
                        select(func.count())
                        .select_from(models.ImportedOrder)
                        .where(models.ImportedOrder.connection_id == connection_id)
                    )
                    or 0
                )
                total = row.orders
            if on_progress:
                on_progress(total, added)
    except AppError as exc:
        _finish(db, settings, connection_id, connector, "error", str(exc))
        log.warning("connection %s sync failed: %s", connection_id, exc)
        raise
    except Exception as exc:
        _finish(
            db, settings, connection_id, connector, "error", f"unexpected {type(exc).__name__}; see the log"
        )
        log.exception("connection %s sync failed", connection_id)
        raise
    info = _finish(db, settings, connection_id, connector, "ok", None)
    log.info("connection %s synced: %d new orders, %d in all", connection_id, added, info.orders)
    return info


def _finish(
    db: Database, settings: Settings, connection_id: str, connector, status: str, error: str | None
) -> ConnectionInfo:
    with db.session() as s:
        row = _own(s, None, connection_id)
        if row.status == "revoked":  # removed while syncing: stays removed, its credentials stay forgotten
            return _info(row)
        row.status, row.last_error, row.last_sync_at = status, error, datetime.now(UTC)
        if hasattr(connector, "credentials"):  # a renewed token is kept for the next sync
            row.credentials = fernet(db, settings).encrypt(json.dumps(connector.credentials()).encode())
        return _info(row)


def _insert(db: Database):
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def sales(db: Database, user_id: str, connection_ids: list[str], measure: str = "units") -> pd.DataFrame:
    """Imported orders as the calibration's sales rows (the shape core.calibration.read_sales gives a
    CSV): one row per city, region, country and month, with units, orders or revenue, and a row number
    for the match report."""
    if measure not in ("units", "orders", "revenue"):
        raise InputError("measure is units, orders or revenue", field="measure")
    with db.session() as s:
        for cid in connection_ids:
            _own(s, user_id, cid)
        rows = s.execute(
            select(
                models.ImportedOrder.city,
                models.ImportedOrder.region,
                models.ImportedOrder.country,
                models.ImportedOrder.created_at,
                models.ImportedOrder.quantity,
                models.ImportedOrder.amount,
            ).where(models.ImportedOrder.connection_id.in_(connection_ids))
        ).all()
    frame = pd.DataFrame(rows, columns=["city", "region", "country", "created_at", "quantity", "amount"])
    if frame.empty:
        raise InputError("no orders imported yet: sync the connection first")
    frame["period"] = pd.to_datetime(frame["created_at"], utc=True).dt.strftime("%Y-%m")
    value = {
        "units": frame["quantity"],
        "orders": pd.Series(1, index=frame.index),
        "revenue": frame["amount"],
    }[measure]
    frame[measure] = value.astype(float)
    out = frame.groupby(["city", "country", "region", "period"], as_index=False)[measure].sum()
    out.insert(0, "row", range(1, len(out) + 1))
    return out


def build_connector(settings: Settings, kind: str, creds: dict):
    """The connector for these credentials (SHOPIFY_API_BASE / ETSY_API_BASE redirect it, for tests)."""
    if kind == "shopify":
        from connectors.shopify import ShopifyConnector

        return ShopifyConnector(creds["shop"], creds["access_token"], base_url=settings.shopify_api_base)
    if kind == "etsy":
        from connectors.etsy import EtsyConnector

        base = settings.etsy_api_base
        return EtsyConnector(
            creds["keystring"],
            creds["shop_id"],
            creds["access_token"],
            creds["refresh_token"],
            base_url=base,
            token_url=f"{base.rstrip('/')}/v3/public/oauth/token" if base else None,
        )
    if kind == "demo":
        from connectors.demo import DemoConnector

        return DemoConnector()
    if kind == "amazon":
        from connectors.amazon import AmazonConnector

        base = settings.amazon_api_base
        return AmazonConnector(
            creds["client_id"],
            creds["client_secret"],
            creds["refresh_token"],
            creds["marketplace_ids"],
            creds.get("region") or "eu",
            base_url=base,
            token_url=f"{base.rstrip('/')}/auth/o2/token" if base else None,
        )
    raise InputError(f"unknown marketplace {kind!r}", field="kind")


def test_credentials(settings: Settings) -> Callable[[str, dict], str]:
    """For ``add``: connect with the credentials and return the shop's name (ConnectorError if refused)."""

    def check(kind: str, creds: dict) -> str:
        with external():
            return base.check_mode(build_connector(settings, kind, creds)).test_connection()

    return check


def sync_stored(
    db: Database,
    settings: Settings,
    connection_id: str,
    user_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ConnectionInfo:
    """Sync a stored connection with its own (decrypted) credentials: the page's and the CLI's entry."""
    kind, creds = credentials(db, settings, connection_id, user_id)
    return sync(db, settings, connection_id, build_connector(settings, kind, creds), user_id, on_progress)


@dataclass
class SyncJob:
    """A sync running in a background thread: orders seen so far and how many were new (its outcome,
    error included, is on the connection row)."""

    total: int = 0
    new: int = 0
    thread: threading.Thread | None = None

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class SyncJobs:
    """Background syncs of this process, by connection id, at most one per connection. A page starts one
    and polls it; the sync itself writes its progress and any error to the connection row, so a page
    reload (or another replica) reads the same state from the database."""

    def __init__(self) -> None:
        self._jobs: dict[str, SyncJob] = {}
        self._lock = threading.Lock()

    def start(
        self,
        db: Database,
        settings: Settings,
        connection_id: str,
        user_id: str | None,
        orders_so_far: int = 0,
    ) -> SyncJob:
        """Start syncing in a thread; the running job if this connection is already syncing here."""
        with self._lock:
            job = self._jobs.get(connection_id)
            if job is not None and job.alive():
                return job
            job = SyncJob(total=orders_so_far)
            job.thread = threading.Thread(
                target=_sync_job,
                args=(job, db, settings, connection_id, user_id),
                daemon=True,
                name=f"sync-{connection_id[:8]}",
            )
            self._jobs[connection_id] = job
            job.thread.start()
            log.info("background sync started for connection %s", connection_id)
            return job

    def running(self, connection_id: str) -> SyncJob | None:
        """The job while its thread runs; None when there is none or it has finished (then forgotten)."""
        with self._lock:
            job = self._jobs.get(connection_id)
            if job is not None and not job.alive():
                del self._jobs[connection_id]
                return None
            return job

    def wait(self, connection_id: str, timeout_s: float | None = None) -> None:
        """Block until this connection's sync has finished (tests; the CLI syncs in the foreground)."""
        with self._lock:
            job = self._jobs.get(connection_id)
        if job is not None and job.thread is not None:
            job.thread.join(timeout_s)


def _sync_job(
    job: SyncJob, db: Database, settings: Settings, connection_id: str, user_id: str | None
) -> None:
    def on_progress(total: int, new: int) -> None:
        job.total, job.new = total, new

    telemetry.JOBS_RUNNING.inc()
    try:
        with telemetry.span("connection.sync", kind="marketplace"):
            sync_stored(db, settings, connection_id, user_id, on_progress)
    except AppError:  # sync stored it on the connection (status error, last_error): the page reads it there
        log.info("background sync of connection %s ended with an error", connection_id)
    finally:
        telemetry.JOBS_RUNNING.dec()


def _translated(pages: Iterator) -> Iterator:
    """The connector's pages, its errors raised as core's ExternalError (same message)."""
    with external():
        yield from pages
