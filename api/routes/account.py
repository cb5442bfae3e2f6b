"""Your plan, its status and this month's usage."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from api.deps import Svc, User
from core.accounts import forecasts_used, period_of

router = APIRouter(prefix="/api/v1/subscriptions", tags=["account"])


@router.get("/me")
def subscription(user: User, services: Svc) -> dict:
    """Your plan, its status, this month's usage and the plan's limits."""
    now = datetime.now(UTC)
    t = user.plan
    return {
        "email": user.email,
        "plan": t.name,
        "status": user.status,
        "usage": {"period": period_of(now), "forecasts": forecasts_used(services.db, user.id, now)},
        "limits": {
            "forecasts_per_month": t.forecasts_per_month,
            "max_cities": t.max_cities,
            "report_depth": t.report_depth,
            "api_requests_per_minute": t.api_requests_per_minute,
        },
    }
