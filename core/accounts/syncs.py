"""Marketplace syncs: import a connection's new orders (resumable, with an overlap for late-indexed orders) and
its sales by city for calibration. The Connections page runs a sync as a background job
(core.services.jobs.start_sync, run by ``python -m agents.worker``); the CLI's ``sync`` runs it in the
foreground."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select

from connectors import base
from core.accounts import as_utc
from core.accounts.connections import ConnectionInfo, credentials, fernet, info_of, owned
from core.db import models
from core.db.database import Database
from core.errors import AppError, InputError, external
from core.settings import Settings

log = logging.getLogger(__name__)


INCREMENTAL_OVERLAP = timedelta(days=1)  # re-asked on the next sync: orders indexed late by the marketplace


def _store_page(db: Database, s, connection_id: str, page) -> int:
    """Insert a page's orders (an order already imported is skipped); the number added."""
    if not page.orders:
        return 0
    rows = [
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
    stmt = db.insert(models.ImportedOrder).values(rows).on_conflict_do_nothing()
    return max(s.execute(stmt).rowcount or 0, 0)


def _advance(s, connection_id: str, page) -> int:
    """Move the connection's cursor past this page (at the end: orders since the newest one, with a day's
    overlap; ids dedupe) and recount its orders; the count."""
    row = owned(s, None, connection_id)
    row.skipped += page.skipped
    mine = models.ImportedOrder.connection_id == connection_id
    if page.next_cursor is not None:
        row.cursor = page.next_cursor
    else:
        newest = s.scalar(select(func.max(models.ImportedOrder.created_at)).where(mine))
        row.cursor, row.since = None, (as_utc(newest) - INCREMENTAL_OVERLAP) if newest else row.since
    row.orders = s.scalar(select(func.count()).select_from(models.ImportedOrder).where(mine)) or 0
    return row.orders


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
        row = owned(s, user_id, connection_id)
        cursor, since, added = row.cursor, row.since, 0
        row.status, row.last_error = "syncing", None
    try:
        for page in _translated(connector.pages(since, cursor)):
            with db.session() as s:
                added += _store_page(db, s, connection_id, page)
                total = _advance(s, connection_id, page)
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
        row = owned(s, None, connection_id)
        if row.status == "revoked":  # removed while syncing: stays removed, its credentials stay forgotten
            return info_of(row)
        row.status, row.last_error, row.last_sync_at = status, error, datetime.now(UTC)
        if hasattr(connector, "credentials"):  # a renewed token is kept for the next sync
            row.credentials = fernet(db, settings).encrypt(json.dumps(connector.credentials()).encode())
        return info_of(row)


def sales(db: Database, user_id: str, connection_ids: list[str], measure: str = "units") -> pd.DataFrame:
    """Imported orders as the calibration's sales rows (the shape core.calibration.read_sales gives a
    CSV): one row per city, region, country and month, with units, orders or revenue, and a row number
    for the match report."""
    if measure not in ("units", "orders", "revenue"):
        raise InputError("measure is units, orders or revenue", field="measure")
    with db.session() as s:
        for cid in connection_ids:
            owned(s, user_id, cid)
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


def _translated(pages: Iterator) -> Iterator:
    """The connector's pages, its errors raised as core's ExternalError (same message)."""
    with external():
        yield from pages
