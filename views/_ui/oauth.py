"""Sign-in with Google and GitHub on the login page (core.accounts.oidc): the buttons, and the callback that
signs the browser in when the provider sends it back with a code."""

from __future__ import annotations

import logging
import time

import streamlit as st

from core.accounts import oidc
from core.errors import AppError
from core.text import sentence
from views._ui.resources import db, get_settings

log = logging.getLogger(__name__)

URL_TTL_S = 300.0  # a login page's provider links are made anew after 5 minutes (their state lives 10)


def oauth_buttons() -> None:
    """One link per configured provider (none when none is configured). Each link carries a state made
    once per login page, not on every rerun."""
    settings = get_settings()
    made = st.session_state.setdefault("_oauth_urls", {})
    for p in oidc.providers(settings):
        url, at = made.get(p.name, (None, 0.0))
        if url is None or time.time() - at > URL_TTL_S:
            try:
                url = oidc.begin(db(), settings, p.name)
            except AppError as exc:
                st.caption(sentence(exc))
                continue
            made[p.name] = (url, time.time())
        st.link_button(f"Sign in with {p.label}", url, key=f"oauth_{p.name}", width="stretch")


def oauth_callback(auth) -> bool:
    """When the provider has sent the browser back (``?code=...&state=...``): verify it, sign in and write
    the login cookie; True when signed in. A refusal is shown and the login page stays."""
    params = st.query_params
    state, code, error = params.get("state"), params.get("code"), params.get("error")
    if not state or not (code or error):
        return False
    st.query_params.clear()  # the code must not stay in the address bar (or be replayed by a reload)
    st.session_state.pop("_oauth_urls", None)
    if error:
        log.info("oauth: the provider answered %s", str(error)[:40])
        st.error(f"The sign-in was not completed at the provider ({str(error)[:40]}). Try again.")
        return False
    try:
        user = oidc.sign_in(db(), oidc.finish(db(), get_settings(), state, code))
    except AppError as exc:
        st.error(sentence(exc))
        return False
    st.session_state["authentication_status"] = True
    st.session_state["username"] = user.email
    st.session_state["name"] = user.full_name or user.email
    st.session_state["_auth_at"] = time.time()
    auth.cookie_controller.set_cookie()
    log.info("oauth: user %s signed in", user.id)
    return True
