"""Signing in: the login throttle (failures in a row per e-mail, a lockout after MAX_FAILED_LOGINS), the credentials\nstreamlit-authenticator reads, the demo accounts of demo mode and the session cookie's key."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.accounts.users import as_utc, create_user, get_user, hash_password
from core.db import models
from core.db.database import Database
from core.db.repo import meta_once
from core.errors import AccessError

log = logging.getLogger(__name__)


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
