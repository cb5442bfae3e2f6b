"""Users, roles, tiers, login throttling, demo accounts and monthly usage (database adapter)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import bcrypt
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.accounts.tiers import Tier, get_tier
from core.db import models
from core.db.database import Database
from core.errors import AccessError, InputError

log = logging.getLogger(__name__)

ROLES = ("user", "admin")


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


# --- demo mode ---------------------------------------------------------------------------


# --- usage quota -------------------------------------------------------------------------
