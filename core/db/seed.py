"""The data half of seeding: migrate the schema, load the shipped tables if they changed (the demo
accounts are seeded by the use case, core.services.seed)."""

from __future__ import annotations

import hashlib

import pandas as pd

from core import paths
from core.db import repo
from core.db.database import Database

DATA_HASH_KEY = "city_data_sha256"


def data_hash() -> str:
    """SHA-256 over the shipped city and country tables."""
    h = hashlib.sha256()
    for f in (paths.COUNTRIES_FILE, paths.CITIES_FILE):
        h.update(f.read_bytes())
    return h.hexdigest()


def load_city_data(db: Database) -> bool:
    """Migrate the schema and load the shipped city and country tables when they changed (or the table is
    empty); True when they were loaded."""
    db.migrate()
    digest = data_hash()
    if repo.get_meta(db, DATA_HASH_KEY) == digest and repo.count_cities(db) > 0:
        return False
    cities = pd.read_parquet(paths.CITIES_FILE)
    countries = pd.read_parquet(paths.COUNTRIES_FILE)
    repo.replace_cities(db, cities, countries)
    repo.set_meta(db, DATA_HASH_KEY, digest)
    return True


def is_seeded(db: Database) -> bool:
    """True when the schema is current and the shipped data is loaded."""
    return db.is_current() and repo.get_meta(db, DATA_HASH_KEY) == data_hash()
