"""The monthly forecast quota (core.accounts.quota): the period, its reset and the refusal at the limit.
Written from the mutation run of session 9 (mutants of these functions survived every other test)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from core import accounts
from core.accounts import quota
from core.errors import LimitError


def _user(db, tier: str = "basic") -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@quota.example", "a-long-password", tier=tier)


def test_the_period_is_the_calendar_month() -> None:
    assert quota.period_of(datetime(2026, 12, 7, 23, 59, tzinfo=UTC)) == "2026-12"
    assert quota.period_of(datetime(2027, 1, 1, tzinfo=UTC)) == "2027-01"


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        (datetime(2026, 1, 31, 18, 30, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 12, 15, 9, 5, 7, 11, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_quota_resets_at_midnight_on_the_first_of_next_month(now, reset) -> None:
    assert quota.next_reset(now) == reset


def test_check_quota_refuses_at_the_limit_and_names_the_reset_day(sqlite_db) -> None:
    user = _user(sqlite_db, "basic")
    limit = user.plan.forecasts_per_month
    assert limit is not None and limit > 0
    now = datetime(2026, 1, 31, 12, tzinfo=UTC)
    for _ in range(limit - 1):
        quota.reserve_forecast(sqlite_db, user, now)
    quota.check_quota(sqlite_db, user, now)  # one left: allowed, and nothing counted
    assert quota.forecasts_used(sqlite_db, user.id, now) == limit - 1
    quota.reserve_forecast(sqlite_db, user, now)
    assert quota.forecasts_used(sqlite_db, user.id, now) == limit
    with pytest.raises(LimitError, match="resets on 2026-02-01"):
        quota.check_quota(sqlite_db, user, now)
    # the next month starts from zero
    assert quota.forecasts_used(sqlite_db, user.id, datetime(2026, 2, 1, tzinfo=UTC)) == 0
    quota.check_quota(sqlite_db, user, datetime(2026, 2, 1, tzinfo=UTC))


def test_an_unlimited_plan_is_never_refused(sqlite_db) -> None:
    user = _user(sqlite_db, "master")
    assert user.plan.forecasts_per_month is None  # data/tiers.csv: empty = unlimited
    now = datetime(2026, 3, 3, tzinfo=UTC)
    for _ in range(3):
        quota.reserve_forecast(sqlite_db, user, now)
    quota.check_quota(sqlite_db, user, now)
