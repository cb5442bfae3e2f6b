"""The frame of the app: page config, settings, database check, navigation over views/."""

from __future__ import annotations

import logging
import time
import uuid

import streamlit as st
from sqlalchemy import exc as sa_exc
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import __version__, accounts, paths, telemetry
from core.db.database import database_error
from core.errors import AccessError, AppError, DatabaseError
from core.logs import configure_logging
from core.text import sentence
from views import _ui

log = logging.getLogger("app")
REQUESTED_PAGE_ATTEMPTS = 3  # switches tried after login before giving up on a deep link

PAGES = {
    "Forecast": [
        ("views/new_forecast.py", "New Forecast", ":material/add_chart:"),
        ("views/results.py", "Results", ":material/leaderboard:"),
        ("views/history.py", "History", ":material/history:"),
        ("views/calibrate.py", "Calibrate", ":material/tune:"),
    ],
    "Data": [("views/city_explorer.py", "City Explorer", ":material/travel_explore:")],
    "Account": [
        ("views/account.py", "Account", ":material/person:"),
        ("views/connections.py", "Connections", ":material/storefront:"),
    ],
    "Admin": [("views/admin.py", "Admin", ":material/admin_panel_settings:")],
}


def login_gate() -> accounts.UserInfo:
    """Show login / registration until a user is signed in; return the signed-in user."""
    db = _ui.db()
    try:
        auth = _ui.build_authenticator()
    except AccessError as exc:  # no cookie key outside demo mode: refuse to start
        st.title("The app is not configured")
        st.error(sentence(exc))
        st.stop()
    if not st.session_state.get("authentication_status") and not _ui.oauth_callback(auth):
        remember_requested_page()
        st.title("AI-Commerce Intelligence Platform")
        st.caption("Where in the world will your product sell, at what price, with what ad budget?")
        if _ui.get_settings().is_demo:
            st.info(
                "Demo mode. Sign in with a demo account (password `demo-password`): "
                + ", ".join(f"`{e}`" for e, _t, _r in accounts.DEMO_ACCOUNTS)
            )
        if st.session_state.pop("_session_ended", False):
            st.warning(
                "Your session has ended (you logged out elsewhere, or your password, plan or role changed). "
                "Log in again."
            )
        login_tab, register_tab = st.tabs(["Log in", "Create account"])
        with login_tab:
            _ui.oauth_buttons()
            _login(auth, db)
        with register_tab:
            _register(auth, db)
        st.stop()
    user = accounts.get_user(db, email=st.session_state.get("username") or "")
    if user is None:  # the account was removed while signed in
        auth.logout(location="unrendered")
        st.session_state.pop("user_id", None)
        st.rerun()
    if st.session_state.get("_owner") not in (None, user.id):  # another user signed in in this tab
        _ui.forget_previous_user()
        st.session_state.pop("_auth_at", None)
        # the page and query remembered at the login form were the previous user's (e.g. ?forecast=<theirs>)
        st.session_state.pop("_requested_page", None)
        st.query_params.clear()
    if "_auth_at" not in st.session_state:
        # When this session began: the login cookie's issue time if it came in with one (a copied cookie
        # keeps its age), else now (a password login in this run).
        token = auth.cookie_controller.get_cookie()
        st.session_state["_auth_at"] = (
            (float(token["exp_date"]) - _ui.COOKIE_DAYS * 86400) if token else time.time()
        )
    if not accounts.session_is_current(user, st.session_state["_auth_at"]):
        log.info(
            "login: session of user %s ended earlier (logout, password or plan change); signing out", user.id
        )
        auth.logout(location="unrendered")
        _ui.forget_previous_user()
        st.session_state.pop("_auth_at", None)
        st.session_state["_session_ended"] = True
        st.rerun()
    st.session_state["_owner"] = user.id
    st.session_state["user_id"] = user.id
    return user


def _login(auth, db) -> None:
    creds = st.session_state["_credentials"]["usernames"]
    before = {name: rec.get("failed_login_attempts", 0) for name, rec in creds.items()}
    try:
        auth.login(
            location="main",
            max_login_attempts=accounts.MAX_FAILED_LOGINS,
            key="login",
            fields={"Form name": "Log in", "Username": "E-mail", "Password": "Password", "Login": "Log in"},
        )
    except Exception as exc:
        if "attempts" in str(exc):
            st.error(
                f"Too many failed logins for this account. Try again in {accounts.LOCKOUT.seconds // 60} minutes."
            )
        else:
            st.error(sentence(exc))
        return
    for name, rec in creds.items():  # persist what the library counted, so throttling spans sessions
        if rec.get("failed_login_attempts", 0) > before.get(name, 0):
            accounts.record_login(db, name, success=False)
    if st.session_state.get("authentication_status"):
        # No st.rerun() here: the library has just rendered the component that writes the login cookie,
        # and a rerun now could remove it before the browser runs it (no cookie, F5 logs out). The
        # component answers once the cookie is written, and that answer reruns the script into the app.
        accounts.record_login(db, st.session_state["username"], success=True)
        st.success("Signed in. Opening the app ...")
        st.session_state["_login_waits"] = 0
        _open_app_after_login()
    elif st.session_state.get("authentication_status") is False:
        st.error("E-mail or password is incorrect.")


@st.fragment(run_every=2.0)
def _open_app_after_login() -> None:
    """Fallback for a browser whose cookie component never answers (blocked iframe, very slow
    machine): two seconds after login, open the app anyway (the session is signed in; only the
    cookie that survives a refresh may be missing)."""
    waits = st.session_state.get("_login_waits", 0)
    st.session_state["_login_waits"] = waits + 1
    if waits >= 1 and st.session_state.get("authentication_status"):
        log.info("login: the cookie component did not answer within 2 s; opening the app")
        st.rerun()


def remember_requested_page() -> None:
    """Keep the page and query a signed-out visitor asked for (a deep link such as /results, or Stripe's
    return to /account?session_id=...) so the first run after login goes there."""
    if "_requested_page" in st.session_state:
        return
    url = st.context.url or ""
    path = url.split("://", 1)[-1].partition("/")[2].strip("/").rsplit("/", 1)[-1]
    st.session_state["_requested_page"] = (path, dict(st.query_params))


def open_requested_page(nav_pages: dict[str, list], current) -> None:
    """After login: open the page remembered by remember_requested_page, with its query.

    The request is kept until a run actually lands on that page: a rerun the browser asks for at the
    same moment (the login cookie component answering, the fallback timer) replaces the page that
    switch_page asked for, so one attempt can be lost on a busy machine. A few attempts at most.
    """
    path, query = st.session_state.get("_requested_page", ("", {}))
    attempts = st.session_state.get("_requested_page_attempts", 0)
    if path and current.url_path == path and query and dict(st.query_params) != query:
        st.query_params.from_dict(
            query
        )  # the login runs dropped the query (e.g. ?forecast=): the page reads it
    if not path or current.url_path == path or attempts >= REQUESTED_PAGE_ATTEMPTS:
        st.session_state.pop("_requested_page", None)
        st.session_state.pop("_requested_page_attempts", None)
        return
    for page in (p for items in nav_pages.values() for p in items):
        if page.url_path == path:
            st.session_state["_requested_page_attempts"] = attempts + 1
            log.info("after login: opening the requested page /%s (attempt %d)", path, attempts + 1)
            st.query_params.from_dict(query)
            st.switch_page(page)
    st.session_state.pop("_requested_page", None)  # not a page this user has (e.g. /admin for a non-admin)


def _register(auth, db) -> None:
    try:
        email, _username, name = auth.register_user(
            location="main",
            captcha=False,
            roles=["user"],
            merge_username_email=True,
            password_hint=False,
            key="register",
            fields={"Form name": "Create account", "Email": "E-mail", "Register": "Create account"},
        )
    except Exception as exc:
        st.error(sentence(exc))
        return
    if email:
        rec = st.session_state["_credentials"]["usernames"][email.lower()]
        try:
            accounts.create_user(db, email, full_name=name or "", password_hash=rec["password"])
        except AppError as exc:
            st.error(sentence(exc))
        else:
            st.success("Account created on the Basic plan. Log in with your e-mail and password.")


def database_unavailable(exc: DatabaseError) -> None:
    """The page shown whenever the database fails, on any page; the next run tries again."""
    log.error("database unavailable: %s", exc.detail or exc)  # the page says what, the log says where
    st.title("The database is not available")
    st.error(sentence(exc))
    st.markdown(
        "Check `DATABASE_URL` (README, *Configuration*), make sure the server is running, "
        "then run `python -m core seed` (or `make run`) and reload this page. Nothing you entered is lost: "
        "it is kept in this browser session."
    )


def guarded(run) -> None:
    """Run a page: a domain error becomes its message, a database failure the page above, anything
    else a short message with a reference while the log keeps the traceback. Streamlit's own control
    flow (st.stop, st.rerun, switch_page) passes through."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

    try:
        run()
    except (StopException, RerunException):
        raise
    except DatabaseError as exc:
        database_unavailable(exc)
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:  # a raw driver error: same page
        database_unavailable(database_error(exc, _ui.get_settings().database_url))
    except AppError as exc:
        st.error(sentence(exc))
    except Exception as exc:
        ref = uuid.uuid4().hex[:8].upper()
        log.exception("unexpected error on a page (ref %s)", ref)
        telemetry.capture(exc)
        st.error(
            f"Something went wrong (ref {ref}). Your inputs are kept; try again, and quote the reference "
            "if you report it."
        )


def main() -> None:
    st.set_page_config(page_title="AI-Commerce Intelligence", page_icon=":material/public:", layout="wide")
    st.logo(str(paths.ASSETS_DIR / "logo.svg"))
    # Less empty space above the title, so Results' headline and map start higher (issue 25, item 15).
    st.html("<style>.block-container{padding-top:2.2rem}</style>")
    settings = _ui.get_settings()
    configure_logging(settings.log_level)
    _operations(settings)
    guarded(lambda: _frame(settings))


def _operations(settings) -> None:
    """Metrics scrape port, tracing and error tracking, each only where configured (docs/operations.md);
    once per process."""
    telemetry.serve_metrics(
        settings.app_metrics_port
    )  # in the background: a taken port is logged, not raised
    telemetry.setup_tracing("aicommerce-app")
    telemetry.setup_error_tracking(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
        settings.sentry_environment,
        __version__,
    )


def _logout(event: object = None) -> None:
    """Logout ends the user's sessions everywhere (other browsers, copied cookies) and takes their work out
    of this tab (docs/security.md)."""
    user_id = st.session_state.get("user_id")
    user = accounts.get_user(_ui.db(), user_id=user_id) if user_id else None
    # A demo account is shared by everyone in a demo session (its password is in the README): one person's
    # logout must not sign the others out. Every real account's logout ends all its sessions.
    if user is not None and not user.is_demo:
        accounts.end_sessions(_ui.db(), user.id, "logout")
    _ui.forget_previous_user()
    st.session_state.pop("_owner", None)
    st.session_state.pop("_auth_at", None)
    st.query_params.clear()  # the open forecast's id leaves the URL with the user
    log.info("logout: user %s", user_id)


def _frame(settings) -> None:
    _ui.require_ready()  # a clear page when the database is down or not seeded (no city rows read)
    _ui.warm_first_run()  # city arrays, agents' imports and graph, in the background: the login page does not wait
    user = login_gate()
    pages = {
        section: [
            st.Page(str(paths.ROOT / path), title=title, icon=icon, default=(path == "views/new_forecast.py"))
            for path, title, icon in items
        ]
        for section, items in PAGES.items()
        if section != "Admin" or user.is_admin
    }
    with st.sidebar:
        st.caption(f"Signed in as **{user.email}** · {user.plan.label} plan")
        _ui.authenticator().logout(
            "Log out", location="sidebar", key="sidebar_logout", callback=_logout
        )  # not "logout": the library keeps its own state under that name
        if settings.is_demo:
            st.caption("Demo mode: no Stripe configuration; payments are simulated, an admin sets tiers.")
    nav = st.navigation(pages)
    open_requested_page(pages, nav)
    ctx = get_script_run_ctx()
    if ctx is not None:
        telemetry.seen_session(ctx.session_id)
    with telemetry.timed(telemetry.PAGE_SECONDS, page=getattr(nav, "url_path", "") or "new_forecast"):
        nav.run()


if __name__ == "__main__":
    main()
