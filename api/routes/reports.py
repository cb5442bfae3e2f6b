"""Deep reports: buy one (Stripe Checkout, or built at once in demo mode), read its status, download it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Svc, User
from api.schemas import DeepReportIn
from core.billing import deep_reports
from core.errors import LimitError

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.post("/deep", status_code=201)
def buy_deep_report(body: DeepReportIn, user: User, services: Svc) -> dict:
    """Buy a deep report of a forecast: a Stripe Checkout URL to pay, or (demo mode) the finished report."""
    info = deep_reports.create(services.db, services.settings, user, body.forecast_id, body.report_type)
    if info.status == "paid":  # demo mode: paid at once, built now
        from agents.deep_report import build

        info = build(services.db, services.ca, services.writer(), info.id, user.id)
    return info.as_dict()


@router.get("/{report_id}")
def get_deep_report(report_id: str, user: User, services: Svc) -> dict:
    return deep_reports.get(services.db, user.id, report_id).as_dict()


@router.get(
    "/{report_id}/pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def deep_report_pdf(report_id: str, user: User, services: Svc) -> Response:
    """The stored PDF (built on first download once Stripe has confirmed the payment)."""
    info = deep_reports.get(services.db, user.id, report_id)
    if info.status == "paid":
        from agents.deep_report import build

        info = build(services.db, services.ca, services.writer(), report_id, user.id)
    if info.status != "ready":
        raise LimitError(
            f"this deep report is {info.status.replace('_', ' ')}; pay for it first"
            if info.status == "pending_payment"
            else "this deep report could not be built; contact support"
        )
    content = deep_reports.pdf(services.db, user.id, report_id) or b""
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="deep_report_{report_id[:8]}.pdf"'},
    )
