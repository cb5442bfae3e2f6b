"""Sign-in with Google (OpenID Connect) and GitHub (OAuth 2.0), beside e-mail and password.

The authorisation-code flow with PKCE (S256) and a one-time ``state`` kept in the database (the browser
comes back in a new app session, maybe on another replica); for Google also an OpenID ``nonce`` and the ID
token verified against the provider's keys (issuer, audience, expiry, nonce). Authlib speaks the protocol.

A provider appears only when its client id and secret are configured. The e-mail the provider returns is
used only when the provider says it is verified: it signs in to the account with that e-mail (the link is
written to the audit trail) or creates a Basic account; the login throttle applies as for passwords.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete

from core.accounts import logins, users
from core.db import models
from core.db.database import Database
from core.errors import AccessError, AppError
from core.settings import Settings

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
TIMEOUT_S = 10


class SignInError(AppError):
    """The provider's answer cannot sign anyone in (forged or stale state, refused code, unverified
    e-mail); the message says what to do."""


@dataclass(frozen=True)
class Provider:
    name: str  # google | github
    label: str
    client_id: str
    client_secret: str
    redirect_url: str
    openid: bool


@dataclass(frozen=True)
class Identity:
    provider: str
    subject: str
    email: str
    verified: bool
    name: str


def providers(settings: Settings) -> list[Provider]:
    """The configured providers (none without client ids and secrets)."""
    redirect = settings.oauth_redirect_url or settings.app_base_url
    out = []
    for name, label, cid, secret in (
        ("google", "Google", settings.google_client_id, settings.google_client_secret),
        ("github", "GitHub", settings.github_client_id, settings.github_client_secret),
    ):
        if cid and secret and secret.get_secret_value():
            out.append(Provider(name, label, cid, secret.get_secret_value(), redirect, name == "google"))
    return out


def provider(settings: Settings, name: str) -> Provider:
    found = [p for p in providers(settings) if p.name == name]
    if not found:
        raise SignInError(f"sign-in with {name} is not configured on this server")
    return found[0]


@lru_cache(maxsize=8)
def _discovery(url: str) -> dict:
    """The OpenID provider's metadata (cached per process: it changes rarely)."""
    import requests

    r = requests.get(url, timeout=TIMEOUT_S)
    r.raise_for_status()
    return r.json()


def _endpoints(settings: Settings, p: Provider) -> dict:
    if p.openid:
        return _discovery(settings.google_discovery_url)
    base, api = settings.github_oauth_base.rstrip("/"), settings.github_api_base.rstrip("/")
    return {
        "authorization_endpoint": f"{base}/login/oauth/authorize",
        "token_endpoint": f"{base}/login/oauth/access_token",
        "user_endpoint": f"{api}/user",
        "emails_endpoint": f"{api}/user/emails",
    }


def _session(p: Provider, **kwargs):
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(
        p.client_id,
        p.client_secret,
        redirect_uri=p.redirect_url,
        code_challenge_method="S256",
        scope="openid email profile" if p.openid else "read:user user:email",
        **kwargs,
    )


def begin(db: Database, settings: Settings, name: str) -> str:
    """The provider's authorisation URL for a new sign-in; its state, PKCE verifier and nonce are stored
    for the callback (expired ones are dropped)."""
    from authlib.common.security import generate_token

    p = provider(settings, name)
    try:
        endpoint = _endpoints(settings, p)["authorization_endpoint"]
    except Exception as exc:
        log.warning("oauth: %s discovery failed: %s", name, type(exc).__name__)
        raise SignInError(f"{p.label} cannot be reached right now; sign in with your password") from exc
    state, verifier, nonce = generate_token(43), generate_token(64), generate_token(32)
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(delete(models.OAuthState).where(models.OAuthState.created_at < now - STATE_TTL))
        s.add(
            models.OAuthState(state=state, provider=name, code_verifier=verifier, nonce=nonce, created_at=now)
        )
    extra = {"nonce": nonce} if p.openid else {}
    url, _ = _session(p).create_authorization_url(endpoint, state=state, code_verifier=verifier, **extra)
    log.info("oauth: %s sign-in started", name)
    return url


def _take_state(db: Database, state: str) -> tuple[str, str, str]:
    """(provider, PKCE verifier, nonce) of the stored sign-in for ``state``, deleted in the same statement
    (DELETE ... RETURNING): a state works once, even for two callbacks at the same moment, for STATE_TTL."""
    t = models.OAuthState
    with db.session() as s:
        row = (
            s.execute(
                delete(t)
                .where(t.state == (state or "")[:64])
                .returning(t.provider, t.code_verifier, t.nonce, t.created_at)
            ).first()
            if state
            else None
        )
    if row is None or users.as_utc(row.created_at) < datetime.now(UTC) - STATE_TTL:
        log.warning("oauth: callback with an unknown, used or expired state")
        raise SignInError(
            "this sign-in link is not valid (expired, already used, or not started here); start again"
        )
    return row.provider, row.code_verifier, row.nonce


def finish(db: Database, settings: Settings, state: str, code: str) -> Identity:
    """Check the callback's state, trade the code for tokens (with the PKCE verifier) and read who signed
    in: for Google from the verified ID token, for GitHub from its user and e-mail endpoints."""
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.oauth2.rfc6749.errors import OAuth2Error

    name, verifier, nonce = _take_state(db, state)
    p = provider(settings, name)
    ends = _endpoints(settings, p)
    client = _session(p)
    try:
        token = client.fetch_token(
            ends["token_endpoint"],
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_S,
        )
        if "access_token" not in token:  # GitHub answers errors with 200 and an error field
            raise SignInError(
                f"{p.label} refused the sign-in ({token.get('error', 'no token')}); start again"
            )
        return _google_identity(settings, p, token, nonce) if p.openid else _github_identity(client, ends)
    except (OAuthError, OAuth2Error) as exc:
        log.warning("oauth: %s refused the code: %s", p.name, getattr(exc, "error", type(exc).__name__))
        raise SignInError(
            f"{p.label} refused the sign-in ({getattr(exc, 'error', 'error')}); start again"
        ) from exc
    except SignInError:
        raise
    except Exception as exc:  # network, malformed answer, bad signature
        log.warning("oauth: %s sign-in failed: %s: %s", p.name, type(exc).__name__, exc)
        raise SignInError(f"the answer from {p.label} could not be verified; start again") from exc


def _google_identity(settings: Settings, p: Provider, token: dict, nonce: str) -> Identity:
    """Who signed in, from the ID token: signature checked against the provider's published keys, and
    issuer, audience, expiry and nonce validated (Authlib's CodeIDToken claims)."""
    import requests
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry

    meta = _discovery(settings.google_discovery_url)
    keys = requests.get(meta["jwks_uri"], timeout=TIMEOUT_S)
    keys.raise_for_status()
    decoded = jwt.decode(
        token["id_token"],
        key=KeySet.import_key_set(keys.json()),
        registry=JWSRegistry(algorithms=meta.get("id_token_signing_alg_values_supported") or ["RS256"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [meta["issuer"]]}},
        {"nonce": nonce, "client_id": p.client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=120)
    return Identity(
        "google",
        str(claims["sub"]),
        str(claims.get("email") or "").strip().lower(),
        claims.get("email_verified") is True,
        str(claims.get("name") or ""),
    )


def _github_identity(client, ends: dict) -> Identity:
    """Who signed in on GitHub: the account, and its primary e-mail with GitHub's verified flag."""
    me = client.get(ends["user_endpoint"], timeout=TIMEOUT_S)
    me.raise_for_status()
    emails = client.get(ends["emails_endpoint"], timeout=TIMEOUT_S)
    emails.raise_for_status()
    primary = next((e for e in emails.json() if e.get("primary")), None) or {}
    user = me.json()
    return Identity(
        "github",
        str(user.get("id")),
        str(primary.get("email") or "").strip().lower(),
        primary.get("verified") is True,
        str(user.get("name") or user.get("login") or ""),
    )


def sign_in(db: Database, identity: Identity) -> users.UserInfo:
    """The account a verified identity signs in to: the one with its e-mail, or a new Basic one."""
    label = "Google" if identity.provider == "google" else "GitHub"
    if not identity.email or not identity.verified:
        log.warning("oauth: %s sign-in refused: the e-mail is not verified there", identity.provider)
        raise SignInError(
            f"{label} has not verified the e-mail address of that account; verify it with {label}, or "
            "sign in with your e-mail and password"
        )
    if logins.is_throttled(db, identity.email):
        raise AccessError(
            f"Too many failed logins for this account. Try again in {logins.LOCKOUT.seconds // 60} minutes."
        )
    user = users.get_user(db, email=identity.email)
    if user is None:
        user = users.create_user(db, identity.email, secrets.token_urlsafe(32), full_name=identity.name)
        log.info("oauth: new Basic account %s from %s", user.id, identity.provider)
    with db.session() as s:
        users.audit(s, None, user.id, "sign-in", identity.provider, source=f"oauth:{identity.subject}"[:64])
    logins.record_login(db, identity.email, success=True)
    return user
