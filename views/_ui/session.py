"""Who is signed in and what their tab holds: the current user (read from the database on every run), the\nauthenticator, the open forecast and its what-if keys, and clearing a previous user's state."""

from __future__ import annotations

import logging

import streamlit as st

from core.services import records
from views._ui.resources import db, get_settings

log = logging.getLogger(__name__)


def current_user_id() -> str | None:
    """The logged-in user's id (set by app.py's login gate)."""
    return st.session_state.get("user_id")


def current_user():
    """The logged-in user, read from the database on every run (tier and role are never taken
    from session state, so tampering with it changes nothing)."""
    from core import accounts

    uid = current_user_id()
    return accounts.get_user(db(), user_id=uid) if uid else None


def authenticator():
    """The run's streamlit-authenticator (built once per run by app.py: it renders a cookie widget)."""
    return st.session_state["_auth"]


def _password_validator():
    """The library's validator with our password rule (core.accounts.password_problem) instead of its
    8-20 characters with forced symbols, which refused passphrases and the demo password."""
    from streamlit_authenticator.utilities.validator import Validator

    from core import accounts

    class PasswordRule(Validator):
        def validate_password(self, password: str) -> bool:
            return accounts.password_problem(password) is None

        def diagnose_password(self, password: str) -> str:
            return accounts.password_problem(password) or ""

    return PasswordRule()


COOKIE_DAYS = 30.0  # the login cookie's lifetime; a session that began before end_sessions ends anyway


def build_authenticator():
    """streamlit-authenticator over the users in the database (built per run: users change)."""
    import streamlit_authenticator as stauth

    from core import accounts

    settings = get_settings()
    key = accounts.cookie_key(
        db(), settings.cookie_key.get_secret_value() if settings.cookie_key else None, settings.is_demo
    )
    creds = accounts.credentials(db())
    st.session_state["_credentials"] = creds
    auth = stauth.Authenticate(
        creds,
        "aicommerce_auth",
        key,
        COOKIE_DAYS,
        auto_hash=False,
        login_sleep_time=settings.login_sleep_s,
        validator=_password_validator(),
    )
    st.session_state["_auth"] = auth
    return auth


WHATIF_KEYS = (
    "rs_price",
    "rs_cost",
    "rs_w_demand",
    "rs_w_profit",
    "rs_w_comp",
    "rs_city",
    "rs_countries",
    "rs_view",
    "_rs_last_click",
    "rs_budget",
    "rs_regions",
    "rs_minpop",
)


def open_forecast(forecast_id: str, record=None) -> None:
    """Make this forecast the current one on Results, with fresh what-if controls (and in the URL, so a
    refresh or a shared link reopens it). ``record``: the forecast just saved, as the database reads it back
    (``run_forecast_record``), kept so Results does not read it again."""
    if record is not None and record.id == forecast_id:
        st.session_state["_records"] = {forecast_id: record}
    st.session_state["forecast_id"] = forecast_id
    st.query_params["forecast"] = forecast_id
    for key in WHATIF_KEYS:
        st.session_state.pop(key, None)


def forecast_record(forecast_id: str):
    """The stored forecast (read once per session and forecast)."""
    cache = st.session_state.setdefault("_records", {})
    if forecast_id not in cache:
        cache.clear()
        cache[forecast_id] = records.load_forecast(db(), forecast_id, current_user_id())
    return cache[forecast_id]


# Session keys that belong to the app's frame and the login library, not to the signed-in user's work.
FRAME_KEYS = frozenset(
    {
        "_auth",
        "_credentials",
        "authentication_status",
        "username",
        "name",
        "email",
        "roles",
        "logout",
        "init",
        "failed_login_attempts",
        "_owner",
        "_auth_at",
        "_session_ended",
        "_login_waits",
        "_requested_page",
        "_requested_page_attempts",
    }
)


def forget_previous_user(_event: object = None) -> None:
    """Drop everything a signed-in user left in this browser tab (open forecast, cached records, agent
    results, form values, uploads): called on logout and whenever a different user signs in here."""
    for key in [k for k in st.session_state if k not in FRAME_KEYS]:
        del st.session_state[key]
    log.info("session: the previous user's state was cleared")
