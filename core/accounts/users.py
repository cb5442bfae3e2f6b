"""Users, roles, tiers, login throttling, demo accounts and monthly usage (database adapter)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.accounts.tiers import Tier, get_tier
from core.db import models
from core.db.database import Database
from core.db.repo import meta_once
from core.errors import AccessError, InputError, LimitError

log = logging.getLogger(__name__)

ROLES = ("user", "admin")
MAX_FAILED_LOGINS = 5  # failures in a row before an account is throttled
LOCKOUT = timedelta(minutes=15)  # how long the throttle lasts after the last failure
DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = (  # (email, tier, role) -- seeded in demo mode only
    ("basic@demo.local", "basic", "user"),
    ("pro@demo.local", "pro", "user"),
    ("master@demo.local", "master", "user"),
    ("admin@demo.local", "master", "admin"),
)
COOKIE_KEY_META = "demo_cookie_key"


@dataclass(frozen=True)
class UserInfo:
    id: str
    email: str
    full_name: str
    tier: str
    role: str
    status: str
    is_demo: bool
    sessions_valid_after: datetime | None = None  # sessions that began earlier are over (end_sessions)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def plan(self) -> Tier:
        return get_tier(self.tier)


def _info(u: models.User) -> UserInfo:
    return UserInfo(
        u.id,
        u.email,
        u.full_name,
        u.subscription_tier,
        u.role,
        u.subscription_status,
        u.is_demo,
        as_utc(u.sessions_valid_after) if u.sessions_valid_after else None,
    )


def end_sessions(db: Database, user_id: str, reason: str) -> datetime:
    """End every session of this user, in every browser, and every login cookie issued so far: each app run
    checks ``session_is_current``. Returns the moment from which new sessions count."""
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(update(models.User).where(models.User.id == user_id).values(sessions_valid_after=now))
    log.info("sessions of user %s ended: %s", user_id, reason)
    return now


def session_is_current(user: UserInfo, started_at: float) -> bool:
    """A session (or the login cookie it came in with) that began at ``started_at`` (a POSIX time) still
    holds: it began no earlier than the user's last ``end_sessions``."""
    return user.sessions_valid_after is None or started_at >= user.sessions_valid_after.timestamp()


def as_utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


MIN_PASSWORD_CHARS = 8  # NIST SP 800-63B: at least 8, no composition rules, long passphrases welcome
MAX_PASSWORD_BYTES = 72  # bcrypt's limit


def password_problem(password: str) -> str | None:
    """Why a password is refused (one sentence), or None: the one rule for the CLI, registration and
    password change."""
    if not password or len(password) < MIN_PASSWORD_CHARS:
        return f"The password needs at least {MIN_PASSWORD_CHARS} characters."
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"The password is longer than {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)."
    if len(set(password)) == 1:
        return "The password cannot be one repeated character."
    return None


def hash_password(password: str) -> str:
    if problem := password_problem(password):
        raise InputError(problem, field="password")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def normalise_email(email: str) -> str:
    e = (email or "").strip().lower()
    if "@" not in e or e.startswith("@") or e.endswith("@") or " " in e:
        raise InputError(f"{email!r} is not an e-mail address", field="email")
    return e


def create_user(
    db: Database,
    email: str,
    password: str | None = None,
    *,
    full_name: str = "",
    tier: str = "basic",
    role: str = "user",
    is_demo: bool = False,
    password_hash: str | None = None,
) -> UserInfo:
    """Add a user; the e-mail must be new. Give a password or an existing bcrypt hash."""
    get_tier(tier)
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use user or admin", field="role")
    hashed = password_hash or hash_password(password or "")
    user = models.User(
        email=normalise_email(email),
        hashed_password=hashed,
        full_name=full_name,
        subscription_tier=tier,
        role=role,
        is_demo=is_demo,
    )
    try:
        with db.session() as s:
            s.add(user)
            s.flush()
            return _info(user)
    except IntegrityError as exc:
        raise InputError(f"a user with e-mail {email!r} already exists", field="email") from exc


def get_user(db: Database, *, email: str | None = None, user_id: str | None = None) -> UserInfo | None:
    with db.session() as s:
        if user_id is not None:
            u = s.get(models.User, user_id)
        else:
            u = s.scalar(select(models.User).where(models.User.email == (email or "").strip().lower()))
        return _info(u) if u else None


def audit(
    s: Session,
    actor_id: str | None,
    user_id: str,
    field: str,
    new_value: str,
    source: str,
    old_value: str | None = None,
) -> None:
    """Record a plan or role change in the audit trail (same transaction as the change) and log it."""
    s.add(
        models.AuditEvent(
            actor_id=actor_id,
            user_id=user_id,
            field=field,
            old_value=old_value,
            new_value=new_value,
            source=source,
        )
    )
    log.info(
        "audit: %s of user %s %s -> %s by %s (%s)",
        field,
        user_id,
        old_value,
        new_value,
        actor_id or "system",
        source,
    )


def update_user(
    db: Database,
    email: str,
    *,
    tier: str | None = None,
    role: str | None = None,
    status: str = "active",
    actor: UserInfo | None = None,
    source: str = "cli",
) -> UserInfo:
    """Change a user's plan and/or role in one transaction, with an audit record for each change.

    Every check runs before anything is written: a refused role leaves the plan unchanged too.
    """
    if tier is not None:
        get_tier(tier)
    if role is not None and role not in ROLES:
        raise InputError(f"unknown role {role!r}; use user or admin", field="role")
    email = email.strip().lower()
    if actor is not None and role is not None and email == actor.email and role != "admin":
        raise InputError("you cannot remove your own admin role", field="role")
    with db.session() as s:
        u = s.scalar(select(models.User).where(models.User.email == email))
        if u is None:
            raise InputError(f"no user with e-mail {email!r}", field="email")
        actor_id = actor.id if actor else None
        if tier is not None and (tier != u.subscription_tier or status != u.subscription_status):
            audit(s, actor_id, u.id, "plan", tier, source, old_value=u.subscription_tier)
            u.subscription_tier, u.subscription_status = tier, status
        if role is not None and role != u.role:
            audit(s, actor_id, u.id, "role", role, source, old_value=u.role)
            u.role = role
        if actor is not None and s.is_modified(
            u
        ):  # an admin changed what this user may do: sign them in anew
            u.sessions_valid_after = datetime.now(UTC)
            log.info("sessions of user %s ended: plan or role changed by %s", u.id, actor_id)
        s.flush()
        return _info(u)


def set_tier(db: Database, email: str, tier: str, status: str = "active") -> UserInfo:
    return update_user(db, email, tier=tier, status=status)


def set_role(db: Database, email: str, role: str) -> UserInfo:
    return update_user(db, email, role=role)


def recent_audit(db: Database, limit: int = 50) -> list[dict]:
    """The newest plan and role changes, with e-mails, for the Admin page."""
    actor = models.User.__table__.alias("actor")
    with db.session() as s:
        rows = s.execute(
            select(models.AuditEvent, models.User.email, actor.c.email)
            .join(models.User, models.User.id == models.AuditEvent.user_id, isouter=True)
            .join(actor, actor.c.id == models.AuditEvent.actor_id, isouter=True)
            .order_by(models.AuditEvent.at.desc(), models.AuditEvent.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "when": e.at,
            "user": email or e.user_id,
            "change": e.field,
            "from": e.old_value,
            "to": e.new_value,
            "by": actor_email or "system",
            "source": e.source,
        }
        for e, email, actor_email in rows
    ]


def set_password_hash(db: Database, email: str, hashed: str) -> datetime:
    """Store a new password hash and end every session begun before it (other browsers, copied cookies);
    returns that moment, from which the caller's own session counts again."""
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(
            update(models.User)
            .where(models.User.email == email)
            .values(hashed_password=hashed, sessions_valid_after=now)
        )
    log.info("password changed for %s: earlier sessions ended", email.split("@")[0][:2] + "***")
    return now


def admin_only(actor: UserInfo | None) -> UserInfo:
    """Fail closed: only an admin may pass."""
    if actor is None or not actor.is_admin:
        raise AccessError("only administrators may do this")
    return actor


# --- login throttling ----------------------------------------------------------------------
def _counted(row: models.LoginFailure | None, now: datetime) -> int:
    """Failures that still count: those older than LOCKOUT are forgotten."""
    if row is None or now - as_utc(row.last_failed_at) > LOCKOUT:
        return 0
    return row.count


def failed_logins(db: Database, email: str, now: datetime | None = None) -> int:
    """Failures in a row for this account that still count."""
    with db.session() as s:
        return _counted(s.get(models.LoginFailure, email.strip().lower()), now or datetime.now(UTC))


def record_login(db: Database, email: str, success: bool, now: datetime | None = None) -> int:
    """Record a login outcome; returns the failures in a row now counted."""
    now = now or datetime.now(UTC)
    key = email.strip().lower()
    with db.session() as s:
        row = s.get(models.LoginFailure, key)
        if success:
            if row is not None:
                s.delete(row)
            return 0
        if row is None:
            row = models.LoginFailure(email=key, count=0, last_failed_at=now)
            s.add(row)
        elif now - as_utc(row.last_failed_at) > LOCKOUT:
            row.count = 0
        row.count += 1
        row.last_failed_at = now
        user_id = s.scalar(select(models.User.id).where(models.User.email == key))
        who = f"user {user_id}" if user_id else "an unknown e-mail"  # ids in the log, never the address
        if row.count >= MAX_FAILED_LOGINS:
            log.warning(
                "login: %s locked out for %s after %d failed logins in a row", who, LOCKOUT, row.count
            )
        else:
            log.info("login: failed attempt %d for %s", row.count, who)
        return row.count


def is_throttled(db: Database, email: str, now: datetime | None = None) -> bool:
    return failed_logins(db, email, now) >= MAX_FAILED_LOGINS


def credentials(db: Database) -> dict:
    """Users in the shape streamlit-authenticator expects (username = e-mail).

    Built on every full page run, so it is one query (users joined to their login failures).
    """
    now = datetime.now(UTC)
    stmt = select(models.User, models.LoginFailure).outerjoin(
        models.LoginFailure, models.LoginFailure.email == models.User.email
    )
    with db.session() as s:
        return {
            "usernames": {
                u.email: {
                    "email": u.email,
                    "name": u.full_name or u.email,
                    "password": u.hashed_password,
                    "roles": [u.role],
                    "failed_login_attempts": _counted(f, now),
                }
                for u, f in s.execute(stmt).all()
            }
        }


# --- demo mode ---------------------------------------------------------------------------
def ensure_demo_accounts(db: Database) -> tuple[str, ...]:
    """One demo account per tier plus an admin (password DEMO_PASSWORD); idempotent."""
    made = []
    hashed = None
    for email, tier, role in DEMO_ACCOUNTS:
        if get_user(db, email=email) is None:
            hashed = hashed or hash_password(DEMO_PASSWORD)
            create_user(
                db,
                email,
                full_name=f"Demo {tier}{' admin' if role == 'admin' else ''}",
                tier=tier,
                role=role,
                is_demo=True,
                password_hash=hashed,
            )
        made.append(email)
    return tuple(made)


def remove_demo_accounts(db: Database) -> int:
    """Outside demo mode the demo accounts must not exist."""
    with db.session() as s:
        users = s.scalars(select(models.User).where(models.User.is_demo.is_(True))).all()
        for u in users:
            s.delete(u)
        return len(users)


def cookie_key(db: Database, configured: str | None, demo: bool) -> str:
    """The login-cookie signing key: configured, or (demo mode only) generated once and stored."""
    if configured:
        return configured
    if not demo:
        raise AccessError(
            "COOKIE_KEY is not set: outside demo mode the app needs a secret key to sign login cookies "
            "(set COOKIE_KEY in the environment or .streamlit/secrets.toml)"
        )
    return meta_once(db, COOKIE_KEY_META, lambda: secrets.token_urlsafe(32))


# --- usage quota -------------------------------------------------------------------------
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
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.execute(
        dialect_insert(models.Usage)
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
