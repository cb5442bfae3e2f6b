"""The five agents on a stored forecast."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from api.deps import Svc, User
from api.schemas import AgentsIn
from core.accounts import reserve_forecast
from core.services import records
from core.services.forecasts import product_from_params

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/forecasts", tags=["agents"])


@router.post("/{forecast_id}/agents")
def run_forecast_agents(forecast_id: str, user: User, services: Svc, body: AgentsIn | None = None) -> dict:
    """Run the five agents at the plan's report depth; returns their results as the CLI does. Each run
    counts as one forecast against the monthly quota (it costs as much as one, and stores its logs)."""
    from agents.context import AgentContext
    from agents.runner import run_agents

    record = records.load_forecast(services.db, forecast_id, user.id)  # not yours: 404, nothing counted
    reserve_forecast(services.db, user)  # over the quota: 403 with the plan's message
    log.info("agents rerun for forecast %s by user %s (counted against the quota)", forecast_id, user.id)
    product = product_from_params(record.params)
    request = {
        "product": product.model_dump(mode="json"),
        "countries": list(record.params.get("countries") or []) or None,
        "budget": body.budget if body else None,
        "depth": user.plan.report_depth,
        "cities": user.plan.max_cities,
    }
    return run_agents(
        AgentContext(services.ca, services.writer()), request, db=services.db, forecast_id=forecast_id
    )
