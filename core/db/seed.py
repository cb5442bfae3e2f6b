"""Idempotent seeding: migrate the schema, then load the shipped tables if they changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SeedReport:
    cities: int
    loaded: bool  # False when the data was already current
    accounts: tuple[str, ...] = ()


def seed(db: Database, demo: bool = True) -> SeedReport:
    """Create or migrate the schema, load cities and countries when they changed, and seed the
    demo accounts (demo mode) or remove them (outside demo mode)."""
    from core import accounts

    db.migrate()
    digest = data_hash()
    loaded = False
    if repo.get_meta(db, DATA_HASH_KEY) != digest or repo.count_cities(db) == 0:
        cities = pd.read_parquet(paths.CITIES_FILE)
        countries = pd.read_parquet(paths.COUNTRIES_FILE)
        repo.replace_cities(db, cities, countries)
        repo.set_meta(db, DATA_HASH_KEY, digest)
        loaded = True
    if demo:
        made = accounts.ensure_demo_accounts(db)
    else:
        accounts.remove_demo_accounts(db)
        made = ()
    return SeedReport(cities=repo.count_cities(db), loaded=loaded, accounts=made)


def is_seeded(db: Database) -> bool:
    """True when the schema is current and the shipped data is loaded."""
    return db.is_current() and repo.get_meta(db, DATA_HASH_KEY) == data_hash()
