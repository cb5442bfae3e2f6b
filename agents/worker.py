"""The background-job worker: ``python -m agents.worker`` (``make run`` starts one beside the app).

It runs the jobs that ``core.jobs`` queues -- deep reports, agent reruns, marketplace syncs and calibrations
of large files -- outside any page or request, one at a time by default (JOBS_CONCURRENCY), with the same
settings, database and city data as the app.
Jobs live in DBOS Transact's durable queue: a job this worker had started when it was killed is resumed
when a worker with the same JOBS_WORKER_ID starts again, from its last finished step.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass

from dbos import DBOS

from core import jobs, telemetry
from core.forecast import CityArrays
from core.services import records
from core.services.cities import for_user
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class _Resources:
    settings: Settings
    db: records.Database
    ca: CityArrays

    def writer(self):
        from agents.writers import make_writer

        return make_writer(self.settings)


_RES: _Resources | None = None


def _resources() -> _Resources:
    if _RES is None:  # pragma: no cover - main() sets them before launching
        raise RuntimeError("the worker's resources are not loaded")
    return _RES


@DBOS.step(name="build_deep_report")
def _build_deep_report(report_id: str, user_id: str) -> dict:
    from agents.deep_report import build

    r = _resources()
    return build(r.db, for_user(r.db, r.ca, user_id), r.writer(), report_id, user_id).as_dict()


@DBOS.workflow(name=jobs.DEEP_REPORT)
def deep_report_job(report_id: str, user_id: str) -> dict:
    """Build and store a paid deep report (agents at full depth, then the PDF)."""
    return _build_deep_report(report_id, user_id)


@DBOS.step(name="rerun_agents")
def _rerun_agents(forecast_id: str, user_id: str, budget: float | None) -> dict:
    from agents.reruns import rerun_agents

    r = _resources()
    return rerun_agents(r.db, for_user(r.db, r.ca, user_id), r.writer(), forecast_id, user_id, budget)


@DBOS.workflow(name=jobs.AGENTS_RERUN)
def agents_rerun_job(forecast_id: str, user_id: str, budget: float | None = None) -> dict:
    """Run the five agents again on a stored forecast, at the owner's plan depth."""
    return _rerun_agents(forecast_id, user_id, budget)


@DBOS.step(name="sync_connection")
def _sync_connection(connection_id: str, user_id: str) -> dict:
    from core.accounts.syncs import sync_stored

    r = _resources()
    with telemetry.span("connection.sync", kind="marketplace"):
        info = sync_stored(r.db, r.settings, connection_id, user_id)
    return {"connection_id": info.id, "status": info.status, "orders": info.orders, "skipped": info.skipped}


@DBOS.workflow(name=jobs.CONNECTION_SYNC)
def connection_sync_job(connection_id: str, user_id: str) -> dict:
    """Import a marketplace connection's new orders (resumable: a resumed job starts from the stored cursor).
    A refused or failed sync fails the job; its message is on the connection row, where the page reads it."""
    return _sync_connection(connection_id, user_id)


@DBOS.step(name="calibrate")
def _calibrate(user_id: str, name: str, rows: dict, measure: str, params: dict) -> dict:
    from core.services.calibrations import run_job

    r = _resources()
    return run_job(r.db, for_user(r.db, r.ca, user_id), user_id, name, rows, measure, params)


@DBOS.workflow(name=jobs.CALIBRATION)
def calibration_job(user_id: str, name: str, rows: dict, measure: str, params: dict) -> dict:
    """Calibrate on a large sales file and save the calibration; its id is the job's result. A file whose
    cities do not match fails the job with the match error's message."""
    return _calibrate(user_id, name, rows, measure, params)


def load(settings: Settings) -> _Resources:
    """The worker's database and city arrays (the schema must be migrated: ``python -m core seed``)."""
    from core.places.citydata import city_arrays_from_db

    db = records.Database(settings.database_url)
    return _Resources(settings, db, city_arrays_from_db(db))


def main() -> None:
    global _RES
    from core.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    url = jobs.system_url(settings.database_url, settings.jobs_database_url)
    _RES = load(settings)
    DBOS(
        config={
            "name": "aicommerce",
            "system_database_url": url,
            "application_version": jobs.VERSION,
            "executor_id": settings.jobs_worker_id,
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    DBOS.register_queue(
        jobs.QUEUE,
        worker_concurrency=settings.jobs_concurrency,
        polling_interval_sec=settings.jobs_poll_s,
        on_conflict="always_update",
    )
    log.info(
        "job worker %s (pid %d) listening on queue %s of %s",
        settings.jobs_worker_id,
        os.getpid(),
        jobs.QUEUE,
        url.split("@")[-1],
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("job worker %s stopping", settings.jobs_worker_id)
    DBOS.destroy(workflow_completion_timeout_sec=5)


if __name__ == "__main__":
    main()
