"""Registration, password change and logout through streamlit-authenticator, with users in the database."""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from core import accounts
from tests.helpers import APP_PATH, login


def register(email: str, password: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60).run()
    labels = [t.label for t in at.text_input]
    form = {"First name": "Ada", "Last name": "Lovelace", "E-mail": email, "Password": password, "Repeat password": password}
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
    fields = {"Current password": "Old!Passw0rd", "New password": "New!Passw0rd9", "Repeat password": "New!Passw0rd9"}
    for t in at.text_input:
        if t.label in fields:
            t.input(fields[t.label])
    next(b for b in at.button if b.label == "Reset").click().run()
    assert any("Password changed" in s.value for s in at.success), [e.value for e in at.error]
    assert login(user.email, "New!Passw0rd9").session_state["user_id"] == user.id
    assert "user_id" not in login(user.email, "Old!Passw0rd").session_state


# Logout is exercised in the real browser (tests/test_browser.py): AppTest does not deliver the
# sidebar button's click to streamlit-authenticator's logout widget.
