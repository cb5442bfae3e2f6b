"""Seeding, the use case behind `python -m core seed` and `make run`: the data layer loads the shipped
tables (core.db.seed) and creates the background-job queue (core.jobs); the demo accounts are created in
demo mode and removed outside it."""

from __future__ import annotations

from dataclasses import dataclass

from core import accounts, jobs
from core.db import repo
from core.db.database import Database
from core.db.seed import load_city_data
from core.settings import load_settings


@dataclass(frozen=True)
class SeedReport:
    cities: int
    loaded: bool  # False when the data was already current
    accounts: tuple[str, ...] = ()


def seed(db: Database, demo: bool = True) -> SeedReport:
    """Create or migrate the schema, load cities and countries when they changed, and seed the
    demo accounts (demo mode) or remove them (outside demo mode)."""
    loaded = load_city_data(db)
    jobs.migrate(jobs.system_url(db.url, load_settings().jobs_database_url))
    if demo:
        made = accounts.ensure_demo_accounts(db)
    else:
        accounts.remove_demo_accounts(db)
        made = ()
    return SeedReport(cities=repo.count_cities(db), loaded=loaded, accounts=made)
