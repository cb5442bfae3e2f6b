"""Deep reports: buy one (Stripe Checkout, or paid at once in demo mode), read its status, download it. A
paid report is built by a background job (core.services.jobs), never inside the request."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import Svc, User
from api.schemas import DeepReportIn
from core.billing import deep_reports
from core.errors import LimitError
from core.services import jobs

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

_BUILDING = {"description": "paid and being built by a background job: poll the status URL"}


def _with_job(info: deep_reports.DeepReportInfo, services, user_id: str) -> dict:
    """The report as JSON, with its build job (queued now if it is paid and not built) and status URL."""
    job = jobs.build_deep_report(services.db, services.settings, user_id, info.id)
    if job is None:
        job = jobs.deep_report_job(services.db, services.settings, user_id, info.id)
    return info.as_dict() | {
        "job": job.as_dict() if job else None,
        "status_url": f"/api/v1/reports/{info.id}",
    }


@router.post("/deep", status_code=201, responses={202: _BUILDING})
def buy_deep_report(body: DeepReportIn, user: User, services: Svc, response: Response) -> dict:
    """Buy a deep report of a forecast: a Stripe Checkout URL to pay (201), or (demo mode) a report paid
    at once whose build job is queued (202; poll ``status_url`` until ``status`` is ``ready``)."""
    info = deep_reports.create(services.db, services.settings, user, body.forecast_id, body.report_type)
    out = _with_job(info, services, user.id)
    if out["job"] is not None:
        response.status_code = 202
        response.headers["Location"] = out["status_url"]
    return out


@router.get("/{report_id}")
def get_deep_report(report_id: str, user: User, services: Svc) -> dict:
    """The report's ``status`` (pending_payment, paid, ready, failed) and, once paid, its build job."""
    return _with_job(deep_reports.get(services.db, user.id, report_id), services, user.id)


@router.get(
    "/{report_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 202: _BUILDING},
)
def deep_report_pdf(report_id: str, user: User, services: Svc) -> Response:
    """The stored PDF; while the paid report is being built, 202 with its status (and the build queued)."""
    info = deep_reports.get(services.db, user.id, report_id)
    if info.status == "paid":
        return JSONResponse(_with_job(info, services, user.id), status_code=202)
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
