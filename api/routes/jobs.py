"""Background jobs (agent reruns, deep-report builds): how one of yours is going, and its result."""

from __future__ import annotations

from fastapi import APIRouter, Path

from api.deps import Svc, User
from core.services import jobs

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("/{job_id}")
def get_job(job_id: str = Path(max_length=120), *, user: User, services: Svc) -> dict:
    """A job's ``status`` (queued, running, done, failed), its ``result`` once done and the ``error``
    once failed. Someone else's job, or one that does not exist: 404."""
    return jobs.job(services.db, services.settings, user.id, job_id).as_dict()
