"""Results page (planned)."""

import streamlit as st

st.title("Results")
st.info("The ranked cities, map, charts, what-if sliders and exports of a forecast. Coming with the analyst-app issue.")
