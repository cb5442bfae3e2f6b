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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select

from connectors import base
from core import paths
from core.accounts import UserInfo, as_utc
from core.db import models
from core.db.database import Database
from core.db.repo import get_meta
from core.errors import AccessError, InputError, LimitError
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


def info_of(c: models.Connection) -> ConnectionInfo:
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
        info = info_of(row)
    log.info("connection %s (%s) added for user %s", info.id, kind, user.id)
    return info


def list_for(db: Database, user_id: str) -> list[ConnectionInfo]:
    with db.session(user_id) as s:  # row-level security: only theirs
        rows = s.scalars(
            select(models.Connection)
            .where(models.Connection.user_id == user_id)
            .order_by(models.Connection.created_at)
        ).all()
        return [info_of(r) for r in rows]


def get(db: Database, user_id: str, connection_id: str) -> ConnectionInfo:
    """One of the user's connections (AccessError when it does not exist or is someone else's)."""
    with db.session(user_id) as s:
        return info_of(owned(s, user_id, connection_id))


def owned(s, user_id: str | None, connection_id: str) -> models.Connection:
    row = s.get(models.Connection, connection_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise AccessError("that connection does not exist or is not yours")
    return row


def revoke(db: Database, user_id: str, connection_id: str) -> None:
    """Forget the credentials (overwritten) and stop syncing; imported orders stay for calibration."""
    with db.session() as s:
        row = owned(s, user_id, connection_id)
        row.credentials, row.status, row.cursor = secrets.token_bytes(16), "revoked", None
    log.info("connection %s revoked", connection_id)


def credentials(
    db: Database, settings: Settings, connection_id: str, user_id: str | None = None
) -> tuple[str, dict]:
    with db.session() as s:
        row = owned(s, user_id, connection_id)
        if row.status == "revoked":
            raise AccessError("this connection was removed; connect the shop again")
        kind, blob = row.kind, row.credentials
    try:
        return kind, json.loads(fernet(db, settings).decrypt(blob))
    except InvalidToken as exc:
        raise AccessError(
            "the stored credentials cannot be decrypted with this CONNECTOR_KEY; connect again"
        ) from exc
