"""Registration, password change and logout through streamlit-authenticator, with users in the database."""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from core import accounts
from tests.helpers import APP_PATH, DEMO_PASSWORD, login


def register(email: str, password: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    labels = [t.label for t in at.text_input]
    form = {
        "First name": "Ada",
        "Last name": "Lovelace",
        "E-mail": email,
        "Password": password,
        "Repeat password": password,
    }
    start = labels.index("First name")
    for i, label in enumerate(labels[start:], start):
        at.text_input[i].input(form[label])
    next(b for b in at.button if b.label == "Create account").click().run()
    return at


@pytest.mark.parametrize("password", ["Str0ng!Pass", "correct horse battery staple in a long line"])
def test_register_then_login(sqlite_db, password) -> None:
    """Passphrases longer than 20 characters and without symbols are welcome (NIST SP 800-63B)."""
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    at = register(email, password)
    assert any("Account created" in s.value for s in at.success), [e.value for e in at.error]
    user = accounts.get_user(sqlite_db, email=email)
    assert user is not None and user.tier == "basic" and user.role == "user"
    assert user.full_name == "Ada Lovelace"
    signed = login(email, password)
    assert signed.session_state["user_id"] == user.id


def test_short_password_is_refused_with_the_rule(sqlite_db) -> None:
    at = register(f"new-{uuid.uuid4().hex[:8]}@example.com", "short")
    assert any(e.value == accounts.password_problem("short") for e in at.error), [e.value for e in at.error]


def test_password_change_persists(sqlite_db) -> None:
    user = accounts.create_user(sqlite_db, f"pw-{uuid.uuid4().hex[:8]}@example.com", "Old!Passw0rd")
    at = login(user.email, "Old!Passw0rd")
    at.switch_page("views/account.py").run()
    fields = {
        "Current password": "Old!Passw0rd",
        "New password": "New!Passw0rd9",
        "Repeat password": "New!Passw0rd9",
    }
    for t in at.text_input:
        if t.label in fields:
            t.input(fields[t.label])
    next(b for b in at.button if b.label == "Reset").click().run()
    assert any("Password changed" in s.value for s in at.success), [e.value for e in at.error]
    assert login(user.email, "New!Passw0rd9").session_state["user_id"] == user.id
    assert "user_id" not in login(user.email, "Old!Passw0rd").session_state


# Logout is exercised in the real browser (tests/test_browser.py): AppTest does not deliver the
# sidebar button's click to streamlit-authenticator's logout widget.


def test_a_new_user_in_the_same_tab_sees_nothing_of_the_previous_one(sqlite_db) -> None:
    """Issue 24 item 1: Pro opens a forecast, logs out; Basic logs in in the same tab and gets none of it."""
    from core.forecast import validate_product
    from core.places.citydata import city_arrays_from_db
    from core.services.forecasts import run_forecast

    pro = accounts.get_user(sqlite_db, email="pro@demo.local")
    fid = run_forecast(
        sqlite_db,
        city_arrays_from_db(sqlite_db),
        validate_product(name="Pro secret", category="Home & Garden", price=25, unit_cost=10),
        None,
        user=pro,
    )
    at = login("pro@demo.local")
    at.session_state["forecast_id"] = fid
    at.session_state["rs_what_if_price"] = 99.0
    at.switch_page("views/results.py").run()
    assert any("Pro secret" in s.value for s in at.subheader)
    # log out as the library's logout does (AppTest cannot click the sidebar widget), then sign in again
    at.session_state["authentication_status"] = None
    at.session_state["username"] = None
    at.run()
    at.text_input[0].input("basic@demo.local")
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click().run()
    at.run()
    assert at.session_state["user_id"] == accounts.get_user(sqlite_db, email="basic@demo.local").id
    assert "forecast_id" not in at.session_state and "rs_what_if_price" not in at.session_state
    at.switch_page("views/results.py").run()
    assert not any("Pro secret" in s.value for s in at.subheader)


def test_ending_a_users_sessions_signs_out_a_session_already_open(sqlite_db) -> None:
    """Issue 24 item 2: logout elsewhere, a password change or an admin's plan change ends open sessions."""
    user = accounts.create_user(sqlite_db, f"s-{uuid.uuid4().hex[:8]}@example.com", "Old!Passw0rd")
    at = login(user.email, "Old!Passw0rd")
    assert at.session_state["user_id"] == user.id
    accounts.end_sessions(sqlite_db, user.id, "logout in another browser")
    at.run()
    assert not at.session_state["authentication_status"]
    assert any("session has ended" in w.value for w in at.warning), [w.value for w in at.warning]
    again = login(user.email, "Old!Passw0rd")  # a new login after the end is a new session
    assert again.session_state["user_id"] == user.id
    admin = accounts.get_user(sqlite_db, email="admin@demo.local")
    accounts.admin_update(sqlite_db, admin, user.email, tier="pro")
    again.run()
    assert not again.session_state["authentication_status"]


def test_session_is_current_compares_with_the_last_end(sqlite_db) -> None:
    user = accounts.create_user(sqlite_db, f"c-{uuid.uuid4().hex[:8]}@example.com", "Old!Passw0rd")
    assert accounts.session_is_current(user, 0.0)  # nothing ended yet
    ended = accounts.end_sessions(sqlite_db, user.id, "test")
    fresh = accounts.get_user(sqlite_db, user_id=user.id)
    assert not accounts.session_is_current(fresh, ended.timestamp() - 1)
    assert accounts.session_is_current(fresh, ended.timestamp())
    since = accounts.set_password_hash(sqlite_db, user.email, "x")
    assert accounts.get_user(sqlite_db, user_id=user.id).sessions_valid_after.timestamp() == since.timestamp()
