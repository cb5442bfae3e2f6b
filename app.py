"""The frame of the app: page config, settings, database check, navigation over pages/."""

from __future__ import annotations

import streamlit as st

from core import paths
from core.errors import DatabaseError
from pages import _ui

PAGES = {
    "Forecast": [
        ("pages/new_forecast.py", "New Forecast", ":material/add_chart:"),
        ("pages/results.py", "Results", ":material/leaderboard:"),
        ("pages/history.py", "History", ":material/history:"),
        ("pages/calibrate.py", "Calibrate", ":material/tune:"),
    ],
    "Data": [("pages/city_explorer.py", "City Explorer", ":material/travel_explore:")],
    "Account": [
        ("pages/account.py", "Account", ":material/person:"),
        ("pages/admin.py", "Admin", ":material/admin_panel_settings:"),
    ],
}


def main() -> None:
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
        section: [
            st.Page(str(paths.ROOT / path), title=title, icon=icon, default=(path == "pages/new_forecast.py"))
            for path, title, icon in items
        ]
        for section, items in PAGES.items()
    }
    if settings.is_demo:
        st.sidebar.caption("Demo mode: no Stripe configuration; payments are simulated.")
    st.session_state[_ui.FRAME_FLAG] = True
    try:
        st.navigation(pages).run()
    finally:
        st.session_state[_ui.FRAME_FLAG] = False


if __name__ == "__main__":
    main()
