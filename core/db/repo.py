"""Repositories: the only code that reads or writes tables. They return DataFrames or plain objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Text, bindparam, cast, delete, func, insert, select
from sqlalchemy.orm import Session

from core.db import models
from core.db.database import Database
from core.errors import AccessError


def get_meta(db: Database, key: str) -> str | None:
    with db.session() as s:
        row = s.get(models.Meta, key)
        return row.value if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    with db.session() as s:
        s.merge(models.Meta(key=key, value=value))


def meta_once(db: Database, key: str, make: Callable[[], str]) -> str:
    """The stored value of ``key``, created with ``make()`` the first time. Insert-if-absent, then read:
    two processes starting together end up with the same value (a plain set would let the later one
    overwrite a secret the other already used)."""
    if (value := get_meta(db, key)) is not None:
        return value
    with db.session() as s:
        s.execute(
            db.insert(models.Meta)
            .values(key=key, value=make())
            .on_conflict_do_nothing(index_elements=["key"])
        )
    return get_meta(db, key) or ""


def count_cities(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(models.cities)) or 0)


def _upsert(db: Database, table, frame: pd.DataFrame, chunk: int = 2000) -> None:
    """Insert or update rows by primary key with the dialect's own upsert.

    Rows are never deleted, so forecast results that reference a city stay valid.
    """
    cols = [c.name for c in table.columns if c.name in frame.columns]
    keys = [c.name for c in table.primary_key.columns]
    records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    with db.engine.begin() as conn:
        stmt = db.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in cols if c not in keys}
        )
        for start in range(0, len(records), chunk):
            conn.execute(stmt, records[start : start + chunk])


def replace_cities(db: Database, cities: pd.DataFrame, countries: pd.DataFrame) -> None:
    """Load the city and country tables from the given frames (upsert by primary key)."""
    _upsert(db, models.countries, countries)
    _upsert(db, models.cities, cities)


def load_cities(db: Database) -> pd.DataFrame:
    """All cities as a DataFrame, ordered by city_id (the forecast engine's input)."""
    cols = [c for c in models.cities.columns if c.name != "updated_at"]
    with db.engine.connect() as conn:
        frame = pd.read_sql(select(*cols).order_by(models.cities.c.city_id), conn)
    return frame


def load_countries(db: Database) -> pd.DataFrame:
    with db.engine.connect() as conn:
        return pd.read_sql(select(models.countries).order_by(models.countries.c.iso3), conn)


# --- forecasts ---------------------------------------------------------------------------
RESULT_COLUMNS = [
    "rank",
    "demand_score",
    "competition_index",
    "profitability_score",
    "opportunity_score",
    "expected_units_month",
    "expected_units_low",
    "expected_units_high",
    "expected_revenue_usd_month",
    "recommended_price_usd",
]


@dataclass(frozen=True)
class ForecastSummary:
    id: str
    product_name: str
    category: str
    price: float
    unit_cost: float
    countries: list[str]
    created_at: datetime
    status: str
    top_city_id: int | None
    n_results: int


@dataclass(frozen=True)
class ForecastRecord:
    id: str
    user_id: str | None
    product: dict
    params: dict
    created_at: datetime
    results: pd.DataFrame  # the stored ranking, best first, with every term column


def save_forecast(db: Database, **kwargs) -> str:
    """``save_forecast_record`` (same arguments), returning only the forecast id."""
    return save_forecast_record(db, **kwargs).id


def save_forecast_record(
    db: Database,
    *,
    user_id: str | None,
    product: dict,
    params: dict,
    table: pd.DataFrame,
    before_commit: Callable[[Session], object] | None = None,
) -> ForecastRecord:
    """Persist a product, its forecast run and the per-city results; returns the forecast as
    ``load_forecast`` reads it back (the same values: the rows' JSON is the text stored, the numbers are
    doubles both ways), so the page that opens a new forecast does not read 1,000 rows it has just written.

    ``before_commit(session)`` runs inside the same transaction (the quota charge): if it raises,
    nothing is saved, and if saving fails, nothing is charged.
    """
    headline = table.iloc[0] if len(table) else None
    with db.session() as s:
        if before_commit is not None:
            before_commit(s)
        prod = models.Product(
            user_id=user_id,
            name=product["name"],
            description=product.get("description", ""),
            category=product["category"],
            base_price=float(product["price"]),
            unit_cost=float(product["unit_cost"]),
            target_ages=list(product.get("target_ages", [])),
            ships_from=product.get("ships_from"),
        )
        s.add(prod)
        s.flush()
        fc = models.Forecast(
            user_id=user_id,
            product_id=prod.id,
            target_city_id=int(headline["city_id"]) if headline is not None else None,
            demand_score=float(headline["demand_score"]) if headline is not None else None,
            competition_index=float(headline["competition_index"]) if headline is not None else None,
            profitability_score=float(headline["profitability_score"]) if headline is not None else None,
            expected_sales_volume=float(headline["expected_units_month"]) if headline is not None else None,
            recommended_price=float(headline["recommended_price_usd"]) if headline is not None else None,
            status="completed",
            params=params,
        )
        s.add(fc)
        s.flush()
        forecast_id = fc.id
        rows = _result_rows(forecast_id, table)
        if rows:
            s.execute(_results_insert(s.get_bind().dialect.name), rows)
        records = [
            _result_record([r[c] for c in READ_NAMES], json.loads(r["terms_json"]))
            for r in sorted(rows, key=lambda r: r["rank"])
        ]
        return _record(fc, prod, records, json.loads(json.dumps(params)))  # params as the column reads back


def _results_insert(dialect: str):
    """A Core insert of result rows whose ``terms`` come already written as JSON text (``_result_rows``): no
    ORM bookkeeping and no parse-and-dump of 1,000 JSON objects per save. PostgreSQL is told the text is
    JSON; SQLite stores JSON as the text itself (a CAST there would turn it into a number)."""
    table = models.ForecastResult.__table__
    terms = bindparam("terms_json", type_=Text)
    values = {c.name: bindparam(c.name, type_=c.type) for c in table.columns if c.name != "terms"}
    return insert(table).values(**values, terms=cast(terms, JSON) if dialect == "postgresql" else terms)


def _result_rows(forecast_id: str, table: pd.DataFrame) -> list[dict]:
    """The ranking as forecast_results rows: the headline columns as numbers, every other column in
    ``terms_json`` as one JSON object per row (NaN and infinity as null). pandas' C JSON writer does the
    per-value work (15 significant digits, a relative error below 1e-14), one line per city: a 1,000-city
    ranking's 50,000 values in ~15 ms, not the half second a Python loop over them took."""
    if table.empty:
        return []
    term_cols = [c for c in table.columns if c not in RESULT_COLUMNS and c != "city_id"]
    terms = (  # JSON escapes every newline inside a value, so the lines are the rows
        table[term_cols].to_json(orient="records", lines=True, double_precision=15).rstrip("\n").split("\n")
        if term_cols
        else ["{}"] * len(table)
    )
    base = table[RESULT_COLUMNS].to_numpy(dtype=float).tolist()
    ids, ranks = table["city_id"].to_numpy(np.int64).tolist(), table["rank"].to_numpy(np.int64).tolist()
    return [
        dict(zip(RESULT_COLUMNS, b, strict=True), forecast_id=forecast_id, city_id=i, rank=r, terms_json=t)
        for b, i, r, t in zip(base, ids, ranks, terms, strict=True)
    ]


def _owned(stmt, user_id: str | None):
    col = models.Forecast.user_id
    return stmt.where(col.is_(None) if user_id is None else col == user_id)


def list_forecasts(db: Database, user_id: str | None) -> list[ForecastSummary]:
    """The user's forecasts, newest first."""
    n_results = (
        select(func.count())
        .where(models.ForecastResult.forecast_id == models.Forecast.id)
        .correlate(models.Forecast)
        .scalar_subquery()
    )
    stmt = _owned(select(models.Forecast, models.Product, n_results).join(models.Product), user_id).order_by(
        models.Forecast.created_at.desc()
    )
    with db.session(user_id) as s:  # row-level security: only theirs
        return [
            ForecastSummary(
                id=f.id,
                product_name=p.name,
                category=p.category,
                price=p.base_price,
                unit_cost=p.unit_cost,
                countries=list(f.params.get("countries") or []),
                created_at=f.created_at,
                status=f.status,
                top_city_id=f.target_city_id,
                n_results=int(n),
            )
            for f, p, n in s.execute(stmt).all()
        ]


def check_forecast_owner(db: Database, forecast_id: str, user_id: str | None) -> None:
    """AccessError unless the forecast is the user's (one indexed lookup; its results are not read)."""
    with db.session(user_id) as s:  # row-level security: only theirs
        found = s.scalar(_owned(select(models.Forecast.id), user_id).where(models.Forecast.id == forecast_id))
    if found is None:
        raise AccessError("that forecast does not exist or is not yours")


def load_forecast(db: Database, forecast_id: str, user_id: str | None) -> ForecastRecord:
    """One stored forecast with its results; AccessError if it is not the user's."""
    with db.session(user_id) as s:  # row-level security: only theirs
        found = s.execute(
            _owned(select(models.Forecast, models.Product).join(models.Product), user_id).where(
                models.Forecast.id == forecast_id
            )
        ).first()
        if found is None:
            raise AccessError("that forecast does not exist or is not yours")
        fc, prod = found
        # Plain rows, not ORM objects: 1,000 results read without building an entity per row.
        fr = models.ForecastResult
        rows = s.execute(
            select(*(getattr(fr, c) for c in READ_NAMES), fr.terms)
            .where(fr.forecast_id == forecast_id)
            .order_by(fr.rank)
        ).all()
        return _record(fc, prod, [_result_record(values, terms) for *values, terms in rows], fc.params)


# A stored result's columns in the order a loaded record has them, then its terms.
READ_NAMES = ["rank", "city_id", *(c for c in RESULT_COLUMNS if c != "rank")]


def _result_record(values: list, terms: dict) -> dict:
    rec = dict(zip(READ_NAMES, values, strict=True))
    rec.update(terms)
    return rec


def _record(fc: models.Forecast, prod: models.Product, records: list[dict], params: dict) -> ForecastRecord:
    """A forecast, its product and its result rows as one record (the one reading of saved and loaded)."""
    product = {
        "name": prod.name,
        "description": prod.description,
        "category": prod.category,
        "price": prod.base_price,
        "unit_cost": prod.unit_cost,
        "target_ages": list(prod.target_ages or []),
        "ships_from": prod.ships_from,
    }
    # Inputs kept with the run's parameters (the products table predates them); a forecast stored before
    # an input existed lacks it, and the use case fills it in as it was made (core.forecast.stored_product).
    stored = params.get("product") or {}
    product.update({k: stored[k] for k in ("shipping_paid_by",) if stored.get(k) is not None})
    return ForecastRecord(
        id=fc.id,
        user_id=fc.user_id,
        product=product,
        params=dict(params),
        created_at=fc.created_at,
        results=pd.DataFrame.from_records(records),
    )


def delete_forecast(db: Database, forecast_id: str, user_id: str | None) -> None:
    with db.session(user_id) as s:  # row-level security: only theirs
        fc = s.execute(
            _owned(select(models.Forecast), user_id).where(models.Forecast.id == forecast_id)
        ).scalar()
        if fc is None:
            raise AccessError("that forecast does not exist or is not yours")
        product_id = fc.product_id
        s.execute(delete(models.ForecastResult).where(models.ForecastResult.forecast_id == forecast_id))
        s.delete(fc)
        s.flush()
        s.execute(delete(models.Product).where(models.Product.id == product_id))


def recent_agent_logs(db: Database, limit: int = 50) -> pd.DataFrame:
    """The newest agent log rows (admin view)."""
    with db.session() as sess:  # the system scope: row-level security lets an admin read every log
        conn = sess.connection()
        stmt = (
            select(
                models.AgentLog.created_at,
                models.AgentLog.forecast_id,
                models.AgentLog.agent_name,
                models.AgentLog.writer,
                models.AgentLog.execution_time_ms,
                models.AgentLog.tokens_used,
            )
            .order_by(models.AgentLog.created_at.desc())
            .limit(limit)
        )
        return pd.read_sql(stmt, conn)


def save_agent_logs(db: Database, forecast_id: str, request: dict, results: dict[str, dict]) -> None:
    """One agent_logs row per agent: input, output, duration, tokens and which writer was used."""
    with db.session() as s:
        for name, out in results.items():
            s.add(
                models.AgentLog(
                    forecast_id=forecast_id,
                    agent_name=name,
                    input_data=request,
                    output_data=out,
                    execution_time_ms=float(out.get("duration_ms", 0.0)),
                    tokens_used=int(out.get("tokens_used", 0)),
                    writer=str(out.get("writer", "template")),
                )
            )


def load_agent_results(db: Database, forecast_id: str) -> dict[str, dict]:
    """The newest stored result of each agent for a forecast."""
    with db.session() as s:
        rows = s.scalars(
            select(models.AgentLog)
            .where(models.AgentLog.forecast_id == forecast_id)
            .order_by(models.AgentLog.created_at)
        ).all()
        return {r.agent_name: dict(r.output_data) for r in rows}


# --- calibrations -----------------------------------------------------------------------------
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
    cols = ["city_id", "predicted", "predicted_low", "predicted_high", "in_training"]
    records = [
        {k: (bool(v) if k == "in_training" else int(v) if k == "city_id" else float(v)) for k, v in r.items()}
        for r in predictions[cols].to_dict("records")
    ]
    with db.session() as s:
        row = models.CalibrationRecord(
            user_id=user_id,
            name=name,
            measure=measure,
            params=params,
            metrics=metrics,
            report=report,
            predictions=records,
        )
        s.add(row)
        s.flush()
        return row.id


def list_calibrations(db: Database, user_id: str | None) -> list[dict]:
    col = models.CalibrationRecord.user_id
    with db.session(user_id) as s:  # row-level security: only theirs
        rows = s.scalars(
            select(models.CalibrationRecord)
            .where(col.is_(None) if user_id is None else col == user_id)
            .order_by(models.CalibrationRecord.created_at.desc())
        ).all()
        return [
            {
                "id": r.id,
                "name": r.name,
                "measure": r.measure,
                "params": dict(r.params),
                "metrics": dict(r.metrics),
                "created_at": r.created_at,
            }
            for r in rows
        ]


def load_calibration(db: Database, calibration_id: str, user_id: str | None) -> dict:
    with db.session(user_id) as s:  # row-level security: only theirs
        r = s.get(models.CalibrationRecord, calibration_id)
        if r is None or r.user_id != user_id:
            raise AccessError("that calibration does not exist or is not yours")
        return {
            "id": r.id,
            "name": r.name,
            "measure": r.measure,
            "params": dict(r.params),
            "metrics": dict(r.metrics),
            "report": dict(r.report),
            "predictions": pd.DataFrame(r.predictions),
        }
