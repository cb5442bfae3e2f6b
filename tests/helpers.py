"""Test helpers (not fixtures): signing in through the real login form."""

from __future__ import annotations

from pathlib import Path

APP_PATH = str(Path(__file__).resolve().parent.parent / "app.py")
DEMO_PASSWORD = "demo-password"


def login(email: str = "master@demo.local", password: str = DEMO_PASSWORD, timeout: int = 90):
    """An AppTest of the app, signed in through the real login form."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP_PATH, default_timeout=timeout).run()
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    # In a browser the cookie component's answer reruns the script into the app (app._login); AppTest
    # has no browser to answer, so run once more as that answer would.
    if at.session_state["authentication_status"]:
        at.run()
    return at


def submit_forecast_form(at, name: str, category: str, price: float, unit_cost: float, countries=()):
    """Fill New Forecast (the page ``at`` is on) and press Run; returns ``at`` on the page that follows."""
    at.text_input(key="nf_name").input(name)
    at.selectbox(key="nf_category").select(category)
    at.number_input(key="nf_price").set_value(price)
    at.number_input(key="nf_unit_cost").set_value(unit_cost)
    if countries:
        at.multiselect(key="nf_countries").set_value(list(countries))
    at.button[0].click().run()
    return at
