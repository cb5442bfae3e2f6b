"""The five agents on a stored forecast, run again as a background job."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Svc, User
from api.schemas import AgentsIn
from core.services import jobs

router = APIRouter(prefix="/api/v1/forecasts", tags=["agents"])


@router.post("/{forecast_id}/agents", status_code=202)
def run_forecast_agents(
    forecast_id: str, user: User, services: Svc, response: Response, body: AgentsIn | None = None
) -> dict:
    """Run the five agents again at the plan's report depth, as a background job: answers at once (202) with
    the job and its status URL; the job's ``result`` holds the agents' results (as the CLI prints them) when
    its ``status`` is ``done``. Each run counts as one forecast against the monthly quota (it costs as much
    as one, and stores its logs); over the quota nothing is queued (403)."""
    job = jobs.rerun_agents(services.db, services.settings, user, forecast_id, body.budget if body else None)
    url = f"/api/v1/jobs/{job.id}"
    response.headers["Location"] = url
    return job.as_dict() | {"status_url": url}
