"""Calibrate page (planned)."""

import streamlit as st

st.title("Calibrate")
st.info("Upload your own sales by city to calibrate the forecast. Coming with the calibration issue.")
