"""The monthly forecast quota: the period, its reset, what was used and the one conditional UPDATE that reserves a\nforecast (so concurrent runs cannot overrun a quota on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.accounts.users import UserInfo
from core.db import models
from core.db.database import Database
from core.errors import LimitError


def period_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def next_reset(now: datetime) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def forecasts_used(db: Database, user_id: str, now: datetime | None = None) -> int:
    period = period_of(now or datetime.now(UTC))
    with db.session() as s:
        n = s.scalar(
            select(models.Usage.forecasts).where(
                models.Usage.user_id == user_id, models.Usage.period == period
            )
        )
        return int(n or 0)


def quota_error(user: UserInfo, now: datetime) -> LimitError:
    return LimitError(
        f"You have used all {user.plan.forecasts_per_month} forecasts of the {user.plan.label} plan this month; "
        f"the quota resets on {next_reset(now):%Y-%m-%d}. Upgrade on the Account page for more."
    )


def check_quota(db: Database, user: UserInfo, now: datetime | None = None) -> None:
    """Refuse (LimitError) when the monthly quota is used up; counts nothing (reserve_forecast does)."""
    limit = user.plan.forecasts_per_month
    now = now or datetime.now(UTC)
    if limit is not None and forecasts_used(db, user.id, now) >= limit:
        raise quota_error(user, now)


def reserve_forecast(
    db: Database, user: UserInfo, now: datetime | None = None, session: Session | None = None
) -> int:
    """Count one forecast against the user's monthly quota, atomically; refuse when it is used up.

    One conditional UPDATE (``forecasts < limit``) does the check and the increment, so two
    sessions cannot both take the last unit: PostgreSQL re-checks the condition after the row lock.
    Given a ``session``, the count is part of that transaction (charged only if it commits).
    """
    if session is None:
        with db.session() as own:
            return reserve_forecast(db, user, now, own)
    now = now or datetime.now(UTC)
    period = period_of(now)
    limit = user.plan.forecasts_per_month
    session.execute(
        db.insert(models.Usage)
        .values(user_id=user.id, period=period, forecasts=0)
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
    )
    stmt = (
        update(models.Usage)
        .where(models.Usage.user_id == user.id, models.Usage.period == period)
        .values(forecasts=models.Usage.forecasts + 1)
        .returning(models.Usage.forecasts)
    )
    if limit is not None:
        stmt = stmt.where(models.Usage.forecasts < limit)
    used = session.execute(stmt).scalar()
    if used is None:
        raise quota_error(user, now)
    return int(used)
