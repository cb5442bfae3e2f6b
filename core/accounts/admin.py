"""What an administrator may do: list users with their usage, change a tier or a role, several changes at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from core.accounts.quota import period_of
from core.accounts.users import UserInfo, admin_only, as_utc, update_user
from core.db import models
from core.db.database import Database


@dataclass(frozen=True)
class UserRow:
    id: str
    email: str
    tier: str
    role: str
    status: str
    is_demo: bool
    forecasts_this_month: int
    created_at: datetime


def list_users(db: Database, now: datetime | None = None) -> list[UserRow]:
    period = period_of(now or datetime.now(UTC))
    used = (
        select(func.coalesce(func.sum(models.Usage.forecasts), 0))
        .where(models.Usage.user_id == models.User.id, models.Usage.period == period)
        .correlate(models.User)
        .scalar_subquery()
    )
    with db.session() as s:
        rows = s.execute(select(models.User, used).order_by(models.User.created_at, models.User.email)).all()
        return [
            UserRow(
                u.id,
                u.email,
                u.subscription_tier,
                u.role,
                u.subscription_status,
                u.is_demo,
                int(n),
                as_utc(u.created_at),
            )
            for u, n in rows
        ]


def admin_set_tier(db: Database, actor: UserInfo | None, email: str, tier: str) -> UserInfo:
    """An admin changes a user's tier (refused for anyone else)."""
    return admin_update(db, actor, email, tier=tier)


def admin_set_role(db: Database, actor: UserInfo | None, email: str, role: str) -> UserInfo:
    """An admin changes a user's role; an admin cannot demote themself (no lock-out)."""
    return admin_update(db, actor, email, role=role)


def admin_update(
    db: Database, actor: UserInfo | None, email: str, *, tier: str | None = None, role: str | None = None
) -> UserInfo:
    """An admin changes a user's plan and role together: all or nothing, audited."""
    admin_only(actor)
    return update_user(db, email, tier=tier, role=role, actor=actor, source="admin page")


def admin_list_users(db: Database, actor: UserInfo | None) -> list[UserRow]:
    admin_only(actor)
    return list_users(db)
