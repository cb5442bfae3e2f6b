"""Calibrate page (planned)."""

import streamlit as st

from pages import _ui

_ui.page_guard()
st.title("Calibrate")
st.info("Upload your own sales by city to calibrate the forecast. Coming with the calibration issue.")
