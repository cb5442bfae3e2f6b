"""Per-key request limits in fixed one-minute windows, counted in the database.

One atomic ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`` per request
(PostgreSQL and SQLite 3.35+), so every API process and replica shares the same counter; an
in-process dict would give each worker its own limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete

from core.db import models
from core.db.database import Database

WINDOW_S = 60


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


def hit(db: Database, key_id: str, limit: int, now: float | None = None) -> RateDecision:
    """Count one request for ``key_id`` (the API counts per user id: all of a user's keys share one
    budget); refuse once ``limit`` requests were made in this minute."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    stmt = db.insert(models.RateCount).values(key_id=key_id, window=window, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key_id", "window"], set_={"count": models.RateCount.count + 1}
    ).returning(models.RateCount.count)
    with db.session() as s:
        count = int(s.execute(stmt).scalar_one())
        if count == 1:  # the first request of a window clears this key's old windows
            s.execute(
                delete(models.RateCount).where(
                    models.RateCount.key_id == key_id, models.RateCount.window < window
                )
            )
    retry = max(1, int((window + 1) * WINDOW_S - now + 0.999))
    return RateDecision(count <= limit, limit, max(0, limit - count), retry)
