"""Repositories: the only code that reads or writes tables. They return DataFrames or plain objects."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from core.db import models
from core.db.database import Database


def get_meta(db: Database, key: str) -> str | None:
    with db.session() as s:
        row = s.get(models.Meta, key)
        return row.value if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    with db.session() as s:
        s.merge(models.Meta(key=key, value=value))


def count_cities(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(models.cities)) or 0)


def _upsert(db: Database, table, frame: pd.DataFrame, chunk: int = 2000) -> None:
    """Insert or update rows by primary key with the dialect's own upsert.

    Rows are never deleted, so forecast results that reference a city stay valid.
    """
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    cols = [c.name for c in table.columns if c.name in frame.columns]
    keys = [c.name for c in table.primary_key.columns]
    records = frame[cols].astype(object).where(frame[cols].notna(), None).to_dict("records")
    with db.engine.begin() as conn:
        stmt = dialect_insert(table)
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
