"""Admin page (planned)."""

import streamlit as st

from pages import _ui

_ui.page_guard()
st.title("Admin")
st.info("Users, tiers, usage and agent logs. Coming with the accounts issue.")
