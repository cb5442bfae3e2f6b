"""Sign-in with Google (OpenID Connect) and GitHub (OAuth 2.0) against a local fake provider that speaks
their wire formats (tests/fake_oidc.py): the whole authorisation-code flow with PKCE, a forged state, a
replayed code, a forged ID token, an unverified e-mail; on SQLite and PostgreSQL; and on the login page."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select

from core import accounts
from core.accounts import oidc
from core.db import models
from core.errors import AccessError
from core.settings import load_settings
from tests.fake_oidc import FakeProvider
from tests.helpers import APP_PATH


@pytest.fixture
def fake():
    with FakeProvider() as provider:
        yield provider


def configured(fake: FakeProvider, **extra):
    return load_settings(
        google_client_id=fake.client_id,
        google_client_secret=fake.client_secret,
        google_discovery_url=f"{fake.url}/.well-known/openid-configuration",
        github_client_id=fake.client_id,
        github_client_secret=fake.client_secret,
        github_oauth_base=fake.url,
        github_api_base=fake.url,
        app_base_url="http://localhost:8501",
        **extra,
    )


def authorize(url: str) -> tuple[str, str, str]:
    """What the browser does at the provider: open the authorisation URL and be sent back; returns the
    redirect target, the code and the state."""
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    back = urlparse(r.headers["Location"])
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    return f"{back.scheme}://{back.netloc}{back.path}", q["code"], q["state"]


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@oidc.example"


def sign_ins(db, user_id: str) -> list[str]:
    with db.session() as s:
        rows = s.scalars(
            select(models.AuditEvent).where(
                models.AuditEvent.user_id == user_id, models.AuditEvent.field == "sign-in"
            )
        ).all()
        return [r.new_value for r in rows]


def test_no_provider_without_configuration() -> None:
    assert oidc.providers(load_settings(google_client_id=None, github_client_id=None)) == []
    half = load_settings(google_client_id="cid", google_client_secret=None, github_client_id=None)
    assert oidc.providers(half) == []


def test_google_sign_in_with_pkce_creates_a_basic_account(any_db, fake) -> None:
    settings = configured(fake)
    fake.user = {"sub": "42", "email": email(), "email_verified": True, "name": "Ada Analyst"}
    url = oidc.begin(any_db, settings, "google")
    q = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert url.startswith(f"{fake.url}/authorize?") and q["code_challenge_method"] == "S256"
    assert (
        q["state"] and q["nonce"] and "openid" in q["scope"] and q["redirect_uri"] == "http://localhost:8501"
    )
    back, code, state = authorize(url)
    assert back == "http://localhost:8501" and state == q["state"]
    identity = oidc.finish(any_db, settings, state, code)
    assert (identity.email, identity.verified, identity.subject) == (fake.user["email"], True, "42")
    assert fake.token_requests[-1]["code_verifier"]  # PKCE: the verifier went with the code
    user = oidc.sign_in(any_db, identity)
    assert user.email == fake.user["email"] and user.tier == "basic" and user.full_name == "Ada Analyst"
    assert sign_ins(any_db, user.id) == ["google"]
    with pytest.raises(oidc.SignInError, match="not valid"):  # the same callback again: the state is used
        oidc.finish(any_db, settings, state, code)


def test_a_forged_state_is_refused_and_the_code_is_not_spent(sqlite_db, fake) -> None:
    settings = configured(fake)
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    with pytest.raises(oidc.SignInError, match="not valid"):
        oidc.finish(sqlite_db, settings, "forged-" + state[:20], code)
    assert fake.token_requests == []  # nothing was sent to the provider
    assert oidc.finish(sqlite_db, settings, state, code).verified  # the real state still works


def test_a_replayed_code_is_refused_by_the_provider(sqlite_db, fake, caplog) -> None:
    import logging

    settings = configured(fake)
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    oidc.finish(sqlite_db, settings, state, code)
    _b, _c, fresh_state = authorize(oidc.begin(sqlite_db, settings, "google"))
    with (
        caplog.at_level(logging.WARNING, logger="core.accounts.oidc"),
        pytest.raises(oidc.SignInError, match="refused the sign-in \\(invalid_grant\\)"),
    ):
        oidc.finish(sqlite_db, settings, fresh_state, code)  # an old code under a valid new state
    assert "oauth: google refused the code: invalid_grant" in caplog.messages  # the log names the provider


@pytest.mark.parametrize(
    "forged", [{"aud": "another-client"}, {"nonce": "another-nonce"}, {"iss": "https://evil.example"}]
)
def test_an_id_token_for_someone_else_is_refused(sqlite_db, fake, forged) -> None:
    settings = configured(fake)
    fake.override = forged
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    with pytest.raises(oidc.SignInError, match="could not be verified"):
        oidc.finish(sqlite_db, settings, state, code)


def test_an_unverified_email_neither_links_nor_creates(sqlite_db, fake, caplog) -> None:
    import logging

    settings = configured(fake)
    existing = accounts.create_user(sqlite_db, email(), "a-long-password", tier="master")
    fake.user = {"sub": "7", "email": existing.email, "email_verified": False, "name": "Mallory"}
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    identity = oidc.finish(sqlite_db, settings, state, code)
    with (
        caplog.at_level(logging.WARNING, logger="core.accounts.oidc"),
        pytest.raises(oidc.SignInError, match="has not verified"),
    ):
        oidc.sign_in(sqlite_db, identity)
    assert "oauth: google sign-in refused: the e-mail is not verified there" in caplog.messages
    assert sign_ins(sqlite_db, existing.id) == []
    fake.user = {"sub": "8", "email": email(), "email_verified": False, "name": "Nobody"}
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    with pytest.raises(oidc.SignInError):
        oidc.sign_in(sqlite_db, oidc.finish(sqlite_db, settings, state, code))
    assert accounts.get_user(sqlite_db, email=fake.user["email"]) is None


def test_github_links_a_verified_email_to_the_existing_account(any_db, fake) -> None:
    settings = configured(fake)
    existing = accounts.create_user(any_db, email(), "a-long-password", tier="pro")
    fake.user = {"sub": "99", "email": existing.email.upper(), "email_verified": True, "name": "Grace"}
    url = oidc.begin(any_db, settings, "github")
    assert url.startswith(f"{fake.url}/login/oauth/authorize?") and "nonce=" not in url
    _back, code, state = authorize(url)
    identity = oidc.finish(any_db, settings, state, code)
    assert identity.provider == "github" and identity.email == existing.email and identity.verified
    user = oidc.sign_in(any_db, identity)
    assert user.id == existing.id and user.tier == "pro"  # linked, plan untouched
    assert sign_ins(any_db, existing.id) == ["github"]


def test_the_login_throttle_applies_to_provider_sign_in(sqlite_db, fake) -> None:
    settings = configured(fake)
    existing = accounts.create_user(sqlite_db, email(), "a-long-password")
    for _ in range(accounts.MAX_FAILED_LOGINS):
        accounts.record_login(sqlite_db, existing.email, success=False)
    fake.user = {"sub": "5", "email": existing.email, "email_verified": True, "name": "X"}
    _back, code, state = authorize(oidc.begin(sqlite_db, settings, "google"))
    with pytest.raises(AccessError, match="Too many"):
        oidc.sign_in(sqlite_db, oidc.finish(sqlite_db, settings, state, code))


def _env(monkeypatch, fake: FakeProvider) -> None:
    for key, value in {
        "GOOGLE_CLIENT_ID": fake.client_id,
        "GOOGLE_CLIENT_SECRET": fake.client_secret,
        "GOOGLE_DISCOVERY_URL": f"{fake.url}/.well-known/openid-configuration",
        "GITHUB_CLIENT_ID": fake.client_id,
        "GITHUB_CLIENT_SECRET": fake.client_secret,
        "GITHUB_OAUTH_BASE": fake.url,
        "GITHUB_API_BASE": fake.url,
    }.items():
        monkeypatch.setenv(key, value)


def link_buttons(at) -> dict[str, str]:
    return {e.proto.label: e.proto.url for e in at.get("link_button")}


@pytest.fixture
def fresh_settings():
    from views import _ui

    _ui.get_settings.clear()  # the app caches its settings per process
    yield
    _ui.get_settings.clear()


def test_the_login_page_signs_in_through_the_provider(sqlite_db, fake, monkeypatch, fresh_settings) -> None:
    from streamlit.testing.v1 import AppTest

    from views import _ui

    plain = AppTest.from_file(APP_PATH, default_timeout=60).run()
    assert not any("Sign in with" in label for label in link_buttons(plain))  # not configured: absent
    _env(monkeypatch, fake)
    _ui.get_settings.clear()
    fake.user = {"sub": "77", "email": email(), "email_verified": True, "name": "Page Person"}
    page = AppTest.from_file(APP_PATH, default_timeout=60).run()
    links = link_buttons(page)
    assert set(links) >= {"Sign in with Google", "Sign in with GitHub"}
    assert link_buttons(page.run()) == links  # a rerun does not start a new sign-in
    _back, code, state = authorize(links["Sign in with Google"])
    back = AppTest.from_file(APP_PATH, default_timeout=60)
    back.query_params["code"], back.query_params["state"] = code, state
    back.run()
    assert not back.exception, [e.value for e in back.exception]
    assert back.session_state["authentication_status"] is True
    assert back.session_state["username"] == fake.user["email"]
    user = accounts.get_user(sqlite_db, email=fake.user["email"])
    assert user is not None and back.session_state["user_id"] == user.id
    forged = AppTest.from_file(APP_PATH, default_timeout=60)
    forged.query_params["code"], forged.query_params["state"] = code, "forged-state"
    forged.run()
    assert not forged.session_state["authentication_status"]
    assert any("not valid" in e.value for e in forged.error)
