"""The frame of the app: page config, settings, database check, navigation over pages/."""

from __future__ import annotations

import streamlit as st

from core import paths
from core.errors import DatabaseError
from pages import _ui

st.set_page_config(page_title="AI-Commerce Intelligence", page_icon=":material/public:", layout="wide")
st.logo(str(paths.ASSETS_DIR / "logo.svg"))

settings = _ui.get_settings()
try:
    _ui.cities()
except DatabaseError as exc:
    st.title("The database is not available")
    st.error(str(exc))
    st.markdown(
        "Check `DATABASE_URL` (README, *Configuration*), make sure the server is running, "
        "then run `python -m core seed` (or `make run`) and reload this page."
    )
    st.stop()

pages = {
    "Forecast": [
        st.Page("pages/new_forecast.py", title="New Forecast", icon=":material/add_chart:", default=True),
        st.Page("pages/results.py", title="Results", icon=":material/leaderboard:"),
        st.Page("pages/history.py", title="History", icon=":material/history:"),
        st.Page("pages/calibrate.py", title="Calibrate", icon=":material/tune:"),
    ],
    "Data": [st.Page("pages/city_explorer.py", title="City Explorer", icon=":material/travel_explore:")],
    "Account": [
        st.Page("pages/account.py", title="Account", icon=":material/person:"),
        st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
    ],
}
if settings.is_demo:
    st.sidebar.caption("Demo mode: no Stripe configuration; payments are simulated.")
st.navigation(pages).run()
