"""Run the five agents again on a stored forecast, at the owner's plan depth and city set: the work of a
background agents-rerun job (``core.jobs.AGENTS_RERUN``, run by ``agents.worker``). The quota was counted
when the job was submitted; the results are stored with the forecast's agent logs, as a first run's are."""

from __future__ import annotations

import logging

from agents.context import AgentContext
from agents.runner import run_agents
from core.accounts import get_user
from core.db.database import Database
from core.errors import AccessError
from core.forecast import CityArrays
from core.services import records
from core.services.forecasts import product_from_params

log = logging.getLogger(__name__)


def agents_request(record, user, budget: float | None, depth: str | None = None) -> dict:
    """The agents' request for a stored forecast: its product and scope, the owner's plan city set, and the
    plan's report depth (or ``depth``: a deep report runs them at full depth)."""
    return {
        "product": product_from_params(record.params).model_dump(mode="json"),
        "countries": list(record.params.get("countries") or []) or None,
        "budget": budget,
        "depth": depth or user.plan.report_depth,
        "cities": user.plan.max_cities,  # the plan's city set, as on screen
    }


def rerun_agents(
    db: Database, ca: CityArrays, writer, forecast_id: str, user_id: str, budget: float | None
) -> dict:
    """The agents' results for one of the user's forecasts (AccessError when it is not theirs)."""
    record = records.load_forecast(db, forecast_id, user_id)
    user = get_user(db, user_id=user_id)
    if user is None:
        raise AccessError("the account that asked for this run no longer exists")
    request = agents_request(record, user, budget)
    return run_agents(AgentContext(ca, writer), request, db=db, forecast_id=forecast_id)
