"""Deep reports: bought per forecast (Stripe Checkout in payment mode; demo mode completes at once),
stored with their PDF and downloadable again. Building the PDF is agents.deep_report.build (it runs
the agents); this module owns the purchase and the stored record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import UserInfo, as_utc
from core.billing import subscriptions as billing
from core.billing.checkout import apply_one_off_payment, one_off_session, register_checkout_handler
from core.db import models, repo
from core.db.database import Database
from core.errors import AccessError
from core.render.reports import report_type
from core.settings import Settings
from core.text import is_record_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeepReportInfo:
    id: str
    forecast_id: str
    report_type: str
    price_usd: float
    status: str  # pending_payment | paid | ready | failed
    created_at: datetime
    completed_at: datetime | None
    checkout_url: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "forecast_id": self.forecast_id,
            "report_type": self.report_type,
            "price_usd": self.price_usd,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "checkout_url": self.checkout_url,
        }


def _info(r: models.DeepReport, url: str | None = None) -> DeepReportInfo:
    return DeepReportInfo(
        r.id,
        r.forecast_id,
        r.report_type,
        r.price_paid,
        r.status,
        as_utc(r.created_at),
        as_utc(r.completed_at) if r.completed_at else None,
        url,
    )


def create(db: Database, settings: Settings, user: UserInfo, forecast_id: str, kind: str) -> DeepReportInfo:
    """Start buying a deep report of one of the user's forecasts; returns the Checkout URL (or, in demo
    mode, a report already paid for and waiting to be built)."""
    rt = report_type(kind)
    if not is_record_id(forecast_id):
        raise AccessError("that forecast does not exist or is not yours")
    repo.load_forecast(db, forecast_id, user.id)  # AccessError if it is not the user's
    how = billing.mode(settings)
    if how not in ("checkout", "demo"):
        raise billing.BillingError(
            "deep reports are paid through Stripe Checkout (STRIPE_SECRET_KEY); "
            "this server has no Checkout configured"
        )
    with db.session() as s:
        row = models.DeepReport(
            forecast_id=forecast_id,
            user_id=user.id,
            report_type=rt.name,
            price_paid=rt.price_usd,
            status="paid" if how == "demo" else "pending_payment",
            payment_id="demo" if how == "demo" else None,
        )
        s.add(row)
        s.flush()
        report_id = row.id
    url = None
    if how == "checkout":
        try:
            session = one_off_session(
                settings,
                user,
                f"Deep report ({rt.name})",
                rt.price_usd,
                {"kind": "deep_report", "deep_report_id": report_id},
                f"{settings.app_base_url}/history?deep_report={report_id}",
                f"{settings.app_base_url}/history?checkout=cancelled",
            )
        except billing.BillingError:
            with db.session() as s:
                s.get(models.DeepReport, report_id).status = "failed"  # type: ignore[union-attr]
            raise
        url = str(session.url)
        with db.session() as s:
            s.get(models.DeepReport, report_id).checkout_session_id = str(session.id)  # type: ignore[union-attr]
    log.info(
        "deep report %s (%s, $%.0f) for forecast %s by user %s: %s",
        report_id,
        rt.name,
        rt.price_usd,
        forecast_id,
        user.id,
        "paid (demo)" if how == "demo" else "checkout started",
    )
    return get(db, user.id, report_id, url)


def get(db: Database, user_id: str, report_id: str, url: str | None = None) -> DeepReportInfo:
    if not is_record_id(report_id):
        raise AccessError("that deep report does not exist or is not yours")
    with db.session(user_id) as s:  # row-level security: only theirs
        row = s.get(models.DeepReport, report_id)
        if row is None or row.user_id != user_id:
            raise AccessError("that deep report does not exist or is not yours")
        return _info(row, url)


def owner(db: Database, report_id: object) -> str | None:
    """The user a deep report belongs to (system scope: for the webhook's follow-up), or None."""
    if not is_record_id(report_id):
        return None
    with db.session() as s:
        row = s.get(models.DeepReport, report_id)
        return row.user_id if row is not None else None


def list_for(db: Database, user_id: str) -> list[DeepReportInfo]:
    with db.session(user_id) as s:  # row-level security: only theirs
        rows = s.scalars(
            select(models.DeepReport)
            .where(models.DeepReport.user_id == user_id)
            .order_by(models.DeepReport.created_at.desc())
        ).all()
        return [_info(r) for r in rows]


def pdf(db: Database, user_id: str, report_id: str) -> bytes | None:
    with db.session(user_id) as s:  # row-level security: only theirs
        row = s.get(models.DeepReport, report_id)
        if row is None or row.user_id != user_id:
            raise AccessError("that deep report does not exist or is not yours")
        return row.pdf


def store(db: Database, report_id: str, content: bytes | None, error: str | None = None) -> None:
    """Keep the built PDF (status ready), or mark the build failed with the reason in report_data."""
    with db.session() as s:
        row = s.get(models.DeepReport, report_id)
        if row is None:
            return
        row.pdf, row.status, row.completed_at = content, ("ready" if content else "failed"), datetime.now(UTC)
        if error:
            row.report_data = {"error": error}


def apply_payment(s: Session, session: dict) -> str:
    """A completed Checkout Session for a deep report (webhook): mark it paid, in the event's transaction."""
    return apply_one_off_payment(s, session, models.DeepReport, "deep_report_id", "deep report", "paid")


register_checkout_handler("deep_report", apply_payment)
