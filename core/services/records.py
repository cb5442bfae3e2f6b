"""The stored work the interfaces read and change: forecasts, agent results, calibrations, countries.

Views and the API reach the database only through core.services (DESIGN §2); these are the plain reads
and writes among those use cases, each with the owner check of the data layer (a foreign or unknown id is
an AccessError), and the rules that make an old record read as it was made.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from core.db import repo
from core.db.database import Database
from core.errors import AccessError
from core.forecast import stored_product
from core.text import is_record_id

ForecastRecord = repo.ForecastRecord
ForecastSummary = repo.ForecastSummary

__all__ = [
    "Database",
    "ForecastRecord",
    "ForecastSummary",
    "check_forecast_owner",
    "connect",
    "delete_forecast",
    "list_calibrations",
    "list_forecasts",
    "load_agent_results",
    "load_calibration",
    "load_countries",
    "load_forecast",
    "recent_agent_logs",
    "save_calibration",
]


def connect(url: str) -> Database:
    """The database handle for a URL (SQLite or PostgreSQL); one per process, shared by its sessions."""
    return Database(url)


def check_forecast_owner(db: Database, forecast_id: str, user_id: str | None) -> None:
    """AccessError unless the forecast exists and is the user's, without reading its results."""
    if not is_record_id(forecast_id):
        raise AccessError("that forecast does not exist or is not yours")
    repo.check_forecast_owner(db, forecast_id, user_id)


def load_forecast(db: Database, forecast_id: str, user_id: str | None) -> ForecastRecord:
    """A stored forecast of this user (AccessError otherwise), its product read as it was made: inputs the
    forecast predates take the value it was computed with (core.forecast.stored_product)."""
    if not is_record_id(forecast_id):
        raise AccessError("that forecast does not exist or is not yours")
    return as_read(repo.load_forecast(db, forecast_id, user_id))


def as_read(record: ForecastRecord) -> ForecastRecord:
    """A stored record with its product read as it was made (the inputs it predates filled in)."""
    return dataclasses.replace(record, product=stored_product(record.product))


def list_forecasts(db: Database, user_id: str | None) -> list[ForecastSummary]:
    """This user's forecasts, newest first."""
    return repo.list_forecasts(db, user_id)


def delete_forecast(db: Database, forecast_id: str, user_id: str | None) -> None:
    """Delete a forecast of this user with its results and agent logs."""
    if not is_record_id(forecast_id):
        raise AccessError("that forecast does not exist or is not yours")
    repo.delete_forecast(db, forecast_id, user_id)


def load_agent_results(db: Database, forecast_id: str) -> dict[str, dict]:
    """The latest stored result of each agent for a forecast (the caller has checked the owner)."""
    return repo.load_agent_results(db, forecast_id)


def recent_agent_logs(db: Database, limit: int = 50) -> pd.DataFrame:
    """The latest agent runs, for the admin page."""
    return repo.recent_agent_logs(db, limit)


def load_countries(db: Database) -> pd.DataFrame:
    """The country table as seeded."""
    return repo.load_countries(db)


def save_calibration(
    db: Database,
    user_id: str | None,
    name: str,
    measure: str,
    params: dict,
    metrics: dict,
    report: dict,
    predictions: pd.DataFrame,
) -> str:
    """Store a calibration of this user; its id."""
    return repo.save_calibration(db, user_id, name, measure, params, metrics, report, predictions)


def list_calibrations(db: Database, user_id: str | None) -> list[dict]:
    """This user's saved calibrations, newest first."""
    return repo.list_calibrations(db, user_id)


def load_calibration(db: Database, calibration_id: str, user_id: str | None) -> dict:
    """A saved calibration of this user (AccessError otherwise)."""
    if not is_record_id(calibration_id):
        raise AccessError("that calibration does not exist or is not yours")
    return repo.load_calibration(db, calibration_id, user_id)
