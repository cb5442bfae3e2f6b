"""Account page (planned)."""

import streamlit as st

from pages import _ui

_ui.page_guard()
st.title("Account")
st.info("Your tier, usage and upgrades. Coming with the accounts issue.")
