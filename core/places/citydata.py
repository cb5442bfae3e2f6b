"""Loading the city table from the database for the engine."""

from __future__ import annotations

import pandas as pd

from core.db import repo
from core.db.database import Database
from core.db.seed import is_seeded
from core.errors import DatabaseError
from core.forecast import CityArrays, city_arrays


def check_ready(db: Database) -> None:
    """DatabaseError unless the database answers and holds the current city data (cheap: no city rows read)."""
    db.check()
    if not is_seeded(db):
        raise DatabaseError(
            "the database has no current city data; run `python -m core seed` (or `make run`) first"
        )


def load_city_frame(db: Database) -> pd.DataFrame:
    """All cities from the database; a clear error when it has not been seeded."""
    check_ready(db)
    return repo.load_cities(db)


def city_arrays_from_db(db: Database) -> CityArrays:
    return city_arrays(load_city_frame(db))
