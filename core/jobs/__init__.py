"""Background jobs: long work (deep reports, agent reruns, marketplace syncs, calibrations of large files)
queued in a durable queue and run by the worker process (``python -m agents.worker``), never inside a page's
script run or an API request.

The queue is DBOS Transact's (a well-kept durable-execution library; its queue is a table, so it needs no
extra server): in a SQLite file next to the app's SQLite database by default (``<name>-jobs.db``), in the
app's PostgreSQL database (schema ``dbos``) when DATABASE_URL is PostgreSQL, or wherever JOBS_DATABASE_URL
points. This module only submits jobs and reads their state (DBOS's client); the worker runs them.

- A job's id is chosen by the submitter where the work has a natural one (a deep report: its report id),
  so submitting the same work twice queues it once. Work that runs again and again (a connection's sync)
  gets a new id each time and a deduplication key instead: while one is queued or running, asking again
  returns it.
- A job that a killed worker left half-done is picked up again when a worker with the same id
  (JOBS_WORKER_ID) starts: DBOS recovers its pending work from the last finished step.
- Each job carries its owner's user id; reading a job that is not yours says it does not exist.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from core.errors import AccessError, AppError, DatabaseError

log = logging.getLogger(__name__)

QUEUE = "long_work"
# The jobs' wire version: the worker runs only jobs submitted with the same one. Bump it when a job's
# arguments change shape, so an old worker never runs a job it would misread.
VERSION = "1"
DEEP_REPORT = "deep_report"
AGENTS_RERUN = "agents_rerun"
CONNECTION_SYNC = "connection_sync"
CALIBRATION = "calibration"
KINDS = (DEEP_REPORT, AGENTS_RERUN, CONNECTION_SYNC, CALIBRATION)

# DBOS's workflow states, as the app says them.
_STATES = {
    "DELAYED": "queued",
    "ENQUEUED": "queued",
    "PENDING": "running",
    "SUCCESS": "done",
    "ERROR": "failed",
    "CANCELLED": "failed",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
}
# DBOS's states of a job not finished yet, by the app's word for them.
_UNFINISHED = {app: [d for d, a in _STATES.items() if a == app] for app in ("queued", "running")}


class JobError(AppError):
    """The job queue cannot be reached or refused the job."""


@dataclass(frozen=True)
class JobInfo:
    id: str
    kind: str
    status: str  # queued | running | done | failed
    created_at: datetime | None
    updated_at: datetime | None
    result: Any = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "result": self.result,
            "error": self.error,
        }


def system_url(database_url: str, override: str | None = None) -> str:
    """Where the queue lives: ``override`` (JOBS_DATABASE_URL) when set; else beside the app's data."""
    if override:
        return override
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseError(
                "background jobs need a database file or server that the worker can reach: set "
                "DATABASE_URL to a SQLite file or PostgreSQL (or JOBS_DATABASE_URL)"
            )
        path = Path(url.database)
        return f"sqlite:///{path.with_name(path.stem + '-jobs.db')}"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """Create or upgrade the queue's tables (run by ``seed``, before any job is submitted)."""
    from dbos import DBOS

    DBOS.migrate(url)


@cache
def _client(url: str):
    from dbos import DBOSClient

    return DBOSClient(system_database_url=url, system_database_pool_size=4)


def submit(
    url: str, kind: str, user_id: str, *args: Any, job_id: str | None = None, dedupe: str | None = None
) -> JobInfo:
    """Queue ``kind`` for ``user_id`` with ``args`` (plain values); an existing ``job_id`` is returned as it
    stands instead of being queued again, and so is a queued or running job with the same ``dedupe`` key."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    jid = job_id or f"{kind}-{uuid.uuid4()}"
    options = {
        "workflow_name": kind,
        "queue_name": QUEUE,
        "workflow_id": jid,
        "app_version": VERSION,
        "authenticated_user": str(user_id),
    }
    if dedupe is not None:
        options |= {"deduplication_id": f"{kind}:{dedupe}", "duplication_policy": "return-existing"}
    try:
        handle = _client(url).enqueue(options, *args)
        info = _info(handle.get_status())
    except AppError:
        raise
    except Exception as exc:  # the queue's database is down or its schema missing
        log.exception("job %s (%s) for user %s could not be queued", jid, kind, user_id)
        raise JobError(
            "the background job could not be queued (the job queue is not available); try again in a "
            "moment (details are in the server log)"
        ) from exc
    log.info("job %s (%s) for user %s: %s", jid, kind, user_id, info.status)
    return info


def get(url: str, job_id: str, user_id: str) -> JobInfo:
    """The state of one of the user's jobs (AccessError when it does not exist or is someone else's)."""
    from dbos._error import DBOSNonExistentWorkflowError

    try:
        status = _client(url).retrieve_workflow(job_id).get_status()
    except DBOSNonExistentWorkflowError:
        status = None
    except Exception as exc:
        log.exception("job %s could not be read", job_id)
        raise JobError("the job queue is not available; try again in a moment") from exc
    if status is None or status.authenticated_user != str(user_id):
        raise AccessError("that job does not exist or is not yours")
    return _info(status)


def find(url: str, job_id: str, user_id: str) -> JobInfo | None:
    """Like ``get``, None when there is no such job of the user's."""
    try:
        return get(url, job_id, user_id)
    except AccessError:
        return None


def active(url: str, prefix: str, user_id: str) -> JobInfo | None:
    """The user's newest queued or running job whose id starts with ``prefix``; None when there is none."""
    try:
        rows = _client(url).list_workflows(
            workflow_id_prefix=prefix,
            status=_UNFINISHED["queued"] + _UNFINISHED["running"],
            queue_name=QUEUE,
            load_input=False,
            load_output=False,
        )
    except Exception as exc:
        log.exception("jobs %s* could not be listed", prefix)
        raise JobError("the job queue is not available; try again in a moment") from exc
    mine = [r for r in rows if r.authenticated_user == str(user_id)]
    return _info(max(mine, key=lambda r: r.created_at or 0)) if mine else None


def depth(url: str) -> dict[str, int]:
    """How many jobs wait (``queued``) and run (``running``) in the queue: what operations alert on."""
    client = _client(url)
    out = {}
    for state, statuses in _UNFINISHED.items():
        rows = client.list_workflows(status=statuses, queue_name=QUEUE, load_input=False, load_output=False)
        out[state] = len(rows)
    return out


def _when(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def _info(status) -> JobInfo:
    state = _STATES.get(str(status.status), "failed")
    error = None
    if state == "failed":
        error = (
            str(status.error) if isinstance(status.error, AppError) else "the job failed (see the worker log)"
        )
    return JobInfo(
        id=status.workflow_id,
        kind=status.name,
        status=state,
        created_at=_when(status.created_at),
        updated_at=_when(status.updated_at),
        result=status.output if state == "done" else None,
        error=error,
    )
