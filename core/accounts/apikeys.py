"""API keys: created (shown once), listed by prefix, revoked; only a SHA-256 of each key is stored.

Keys are 256-bit random tokens, so a fast hash is the right store (a password hash would only slow
every request): the database never holds a usable key. Pro and Master plans have API access.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from core.accounts.tiers import all_tiers
from core.accounts.users import UserInfo, _info, as_utc
from core.db import models
from core.db.database import Database
from core.errors import AccessError, InputError, LimitError

log = logging.getLogger(__name__)

KEY_PREFIX = "aci_"
PREFIX_CHARS = 12  # "aci_" + 8 characters, shown in lists so a user can tell keys apart
MAX_KEYS = 20  # active keys per user


class AuthError(AccessError):
    """No key, an unknown key or a revoked key (HTTP 401)."""


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plans_with_api() -> list[str]:
    return [t.label for t in all_tiers() if t.api_access]


def require_api_access(user: UserInfo) -> None:
    if not user.plan.api_access:
        raise LimitError(
            f"The {user.plan.label} plan has no API access; it comes with the "
            f"{' and '.join(plans_with_api())} plans. Upgrade on the Account page."
        )


def _key_info(k: models.ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        k.id,
        k.name,
        k.prefix,
        as_utc(k.created_at),
        as_utc(k.last_used_at) if k.last_used_at else None,
        as_utc(k.revoked_at) if k.revoked_at else None,
    )


def create_key(db: Database, user: UserInfo, name: str = "") -> tuple[ApiKeyInfo, str]:
    """A new key for ``user``: returns its record and the key itself (shown once, never stored)."""
    require_api_access(user)
    name = " ".join(name.split())[:100]
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        active = s.scalars(
            select(models.ApiKey.id).where(
                models.ApiKey.user_id == user.id, models.ApiKey.revoked_at.is_(None)
            )
        ).all()
        if len(active) >= MAX_KEYS:
            raise InputError(f"you have {MAX_KEYS} active keys; revoke one first", field="name")
        row = models.ApiKey(user_id=user.id, name=name, prefix=token[:PREFIX_CHARS], key_hash=_hash(token))
        s.add(row)
        s.flush()
        info = _key_info(row)
    log.info("api key %s (%s) created for user %s", info.id, info.prefix, user.id)
    return info, token


def list_keys(db: Database, user_id: str) -> list[ApiKeyInfo]:
    with db.session(user_id) as s:  # row-level security: only theirs
        rows = s.scalars(
            select(models.ApiKey)
            .where(models.ApiKey.user_id == user_id)
            .order_by(models.ApiKey.created_at.desc())
        ).all()
        return [_key_info(r) for r in rows]


def revoke_key(db: Database, user_id: str, key: str) -> ApiKeyInfo:
    """Revoke one of the user's keys, named by its id or its prefix."""
    with db.session() as s:
        rows = s.scalars(select(models.ApiKey).where(models.ApiKey.user_id == user_id)).all()
        match = [r for r in rows if key in (r.id, r.prefix)]
        if not match:
            raise InputError(
                f"no API key {key!r} on this account; list them to see the prefixes", field="key"
            )
        row = match[0]
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
        info = _key_info(row)
    log.info("api key %s (%s) revoked for user %s", info.id, info.prefix, user_id)
    return info


def authenticate(db: Database, token: str | None) -> tuple[UserInfo, str]:
    """The user and key id behind a bearer token; AuthError for a missing, unknown or revoked key."""
    if not token or not token.startswith(KEY_PREFIX):
        raise AuthError("send an API key: Authorization: Bearer aci_... (create one on the Account page)")
    with db.session() as s:
        row = s.scalar(select(models.ApiKey).where(models.ApiKey.key_hash == _hash(token)))
        if row is None or row.revoked_at is not None:
            log.warning("api key refused: %s (%s)", token[:PREFIX_CHARS], "revoked" if row else "unknown")
            raise AuthError("this API key is unknown or revoked")
        row.last_used_at = datetime.now(UTC)
        user = s.get(models.User, row.user_id)
        assert user is not None  # cascade: a key never outlives its user
        return _info(user), row.id
