"""Long work as background jobs (core.jobs, run by ``python -m agents.worker``): the use cases the pages
and the API call to start a deep report's build or an agents rerun and to read how it is going."""

from __future__ import annotations

import logging

from core import jobs
from core.accounts import UserInfo, reserve_forecast
from core.billing import deep_reports
from core.db.database import Database
from core.services import records
from core.settings import Settings

log = logging.getLogger(__name__)

JobInfo = jobs.JobInfo


def queue_url(db: Database, settings: Settings) -> str:
    """The job queue beside ``db`` (or JOBS_DATABASE_URL)."""
    return jobs.system_url(db.url, settings.jobs_database_url)


def deep_report_job_id(report_id: str) -> str:
    """A deep report's build has one job, named after the report: asking twice queues it once."""
    return f"{jobs.DEEP_REPORT}-{report_id}"


def build_deep_report(db: Database, settings: Settings, user_id: str, report_id: str) -> JobInfo | None:
    """Queue the build of a paid deep report (once; None when it is not paid for or already built).

    Called when the report is bought in demo mode, when Stripe's webhook confirms its payment
    (core.services.payments) and whenever a paid, unbuilt report is looked at, so a report paid while the
    queue was down is built on the next look."""
    info = deep_reports.get(db, user_id, report_id)  # AccessError when it is not the user's
    if info.status != "paid":
        return None
    return jobs.submit(
        queue_url(db, settings),
        jobs.DEEP_REPORT,
        user_id,
        report_id,
        user_id,
        job_id=deep_report_job_id(report_id),
    )


def deep_report_job(db: Database, settings: Settings, user_id: str, report_id: str) -> JobInfo | None:
    """The build job of one of the user's deep reports, if one was queued."""
    return jobs.find(queue_url(db, settings), deep_report_job_id(report_id), user_id)


def start_agents(
    db: Database, settings: Settings, user: UserInfo, forecast_id: str, budget: float | None = None
) -> JobInfo:
    """The five agents for a forecast just made, as a background job: the analyst sees the ranking and the
    map at once and the Agents tab fills in when the job is done (the forecast's quota was counted with
    it)."""
    records.check_forecast_owner(db, forecast_id, user.id)  # not the user's: AccessError, nothing queued
    return _queue_agents(db, settings, user, forecast_id, budget)


def rerun_agents(
    db: Database, settings: Settings, user: UserInfo, forecast_id: str, budget: float | None = None
) -> JobInfo:
    """Queue the five agents again on one of the user's forecasts. It counts one forecast against the
    monthly quota (it costs as much as one); the count is kept only if the job was queued."""
    records.check_forecast_owner(db, forecast_id, user.id)  # not the user's: AccessError, nothing counted
    with db.session() as s:
        reserve_forecast(db, user, session=s)  # over the quota: LimitError, nothing queued
        return _queue_agents(db, settings, user, forecast_id, budget)


def _queue_agents(db: Database, settings: Settings, user: UserInfo, forecast_id: str, budget) -> JobInfo:
    job = jobs.submit(queue_url(db, settings), jobs.AGENTS_RERUN, user.id, forecast_id, user.id, budget)
    log.info("agents for forecast %s of user %s queued as job %s", forecast_id, user.id, job.id)
    return job


def queue_depth(db: Database, settings: Settings) -> dict[str, int]:
    """Jobs waiting and running in the queue (the API's /metrics reports them)."""
    return jobs.depth(queue_url(db, settings))


def job(db: Database, settings: Settings, user_id: str, job_id: str) -> JobInfo:
    """One of the user's jobs (AccessError when it does not exist or is someone else's)."""
    return jobs.get(queue_url(db, settings), job_id, user_id)
