"""New Forecast page (planned)."""

import streamlit as st

st.title("New Forecast")
st.info("Describe a product and rank every city for it. Coming with the analyst-app issue.")
