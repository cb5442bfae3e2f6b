"""Calibrating the forecast on a user's sales: the use case the Calibrate page, the CLI and the job worker
call (read rows -> the prior for the chosen product -> match and fit -> save), and the background job a large
file runs as (core.jobs, ``python -m agents.worker``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass, field

import pandas as pd

from core import calibration, jobs
from core.db.database import Database
from core.errors import AppError
from core.forecast import CityArrays, evaluate, prepare, scope_mask, validate_product
from core.places import trends
from core.services import records
from core.services.jobs import JobInfo, queue_url
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationParams:
    """What a calibration is made for (stored with it): the product the prior is computed for, the
    countries it predicts (empty: the file's) and an optional search-interest keyword as a feature."""

    category: str
    price: float
    unit_cost: float
    shipping_paid_by: str = "buyer"
    countries: list[str] = field(default_factory=list)
    search_keyword: str | None = None

    def as_dict(self) -> dict:
        return asdict(self) | {"search_keyword": self.search_keyword or None}


def calibrate(
    db: Database, ca: CityArrays, rows: pd.DataFrame, measure: str, params: CalibrationParams, name: str
) -> calibration.Calibration:
    """Match the sales rows to cities and fit the model on the prior for ``params``' product (MatchError
    with its report when too few cities match; InputError for a bad product or keyword)."""
    product = validate_product(
        name=name or "sales",
        category=params.category,
        price=params.price,
        unit_cost=params.unit_cost,
        shipping_paid_by=params.shipping_paid_by,
    )
    countries = list(params.countries) or None
    scope_mask(ca, countries)  # unknown country codes: InputError before any work
    keyword = (params.search_keyword or "").strip()
    extra = trends.calibration_features(db, keyword, ca) if keyword else None
    return calibration.calibrate(rows, measure, evaluate(prepare(ca, product)), countries, extra=extra)


def calibrate_and_save(
    db: Database,
    ca: CityArrays,
    user_id: str | None,
    name: str,
    rows: pd.DataFrame,
    measure: str,
    params: CalibrationParams,
) -> str:
    """Calibrate (``calibrate``) and store the result as one of the user's calibrations; its id."""
    result = calibrate(db, ca, rows, measure, params, name)
    cid = records.save_calibration(
        db,
        user_id,
        name or "My sales",
        measure,
        params.as_dict(),
        result.metrics(),
        result.report_dict(),
        result.predictions,
    )
    log.info("calibration %s of user %s saved: %d sales rows, %s", cid, user_id, len(rows), measure)
    return cid


def runs_as_job(settings: Settings, rows: pd.DataFrame) -> bool:
    """A sales file with more than CALIBRATION_JOB_ROWS rows is calibrated by the job worker."""
    return len(rows) > settings.calibration_job_rows


def start_calibration(
    db: Database,
    settings: Settings,
    user_id: str,
    name: str,
    rows: pd.DataFrame,
    measure: str,
    params: CalibrationParams,
) -> JobInfo:
    """Queue a calibration (the rows travel with the job as plain records); the job's result holds the
    saved calibration's id."""
    job = jobs.submit(
        queue_url(db, settings),
        jobs.CALIBRATION,
        user_id,
        user_id,
        name,
        rows.to_dict(orient="list"),
        measure,
        params.as_dict(),
        job_id=f"{jobs.CALIBRATION}-{uuid.uuid4().hex}",
    )
    log.info("calibration of %d rows for user %s queued as job %s", len(rows), user_id, job.id)
    return job


def run_job(
    db: Database, ca: CityArrays, user_id: str, name: str, rows: dict, measure: str, params: dict
) -> dict:
    """What the worker runs for a queued calibration: the saved calibration's id. A refusal (too few cities
    matched, an unknown keyword) fails the job with its message as a plain AppError, which the queue can
    store and give back (a MatchError carries its whole report)."""
    frame = pd.DataFrame(rows)
    try:
        cid = calibrate_and_save(db, ca, user_id, name, frame, measure, CalibrationParams(**params))
    except AppError as exc:
        log.info("queued calibration for user %s refused: %s", user_id, exc)
        raise AppError(str(exc)) from None
    return {"calibration_id": cid, "rows": len(frame)}
