"""Long work as background jobs (core.jobs, run by ``python -m agents.worker``): the use cases the pages
and the API call to start a deep report's build, an agents rerun or a marketplace sync and to read how it is
going."""

from __future__ import annotations

import logging
import uuid

from core import jobs
from core.accounts import UserInfo, connections, reserve_forecast
from core.billing import deep_reports
from core.db.database import Database
from core.errors import AccessError
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


def sync_job_prefix(connection_id: str) -> str:
    """Every sync of a connection has its own job id, starting with this."""
    return f"{jobs.CONNECTION_SYNC}-{connection_id}-"


def start_sync(db: Database, settings: Settings, user_id: str, connection_id: str) -> JobInfo:
    """Queue an import of a connection's new orders (core.accounts.syncs.sync_stored, run by the worker).
    While one is queued or running for this connection, asking again returns it: a connection never syncs
    twice at once. The sync writes its progress (orders so far) and any error on the connection row."""
    info = connections.get(db, user_id, connection_id)  # not the user's: AccessError, nothing queued
    if info.status == "revoked":
        raise AccessError("this connection was removed; connect the shop again")
    job = jobs.submit(
        queue_url(db, settings),
        jobs.CONNECTION_SYNC,
        user_id,
        connection_id,
        user_id,
        job_id=sync_job_prefix(connection_id) + uuid.uuid4().hex,
        dedupe=connection_id,
    )
    log.info("sync of connection %s for user %s: job %s %s", connection_id, user_id, job.id, job.status)
    return job


def sync_job(db: Database, settings: Settings, user_id: str, connection_id: str) -> JobInfo | None:
    """The connection's sync job while it is queued or running; None when none is."""
    return jobs.active(queue_url(db, settings), sync_job_prefix(connection_id), user_id)


def queue_depth(db: Database, settings: Settings) -> dict[str, int]:
    """Jobs waiting and running in the queue (the API's /metrics reports them)."""
    return jobs.depth(queue_url(db, settings))


def job(db: Database, settings: Settings, user_id: str, job_id: str) -> JobInfo:
    """One of the user's jobs (AccessError when it does not exist or is someone else's)."""
    return jobs.get(queue_url(db, settings), job_id, user_id)
