"""History page (planned)."""

import streamlit as st

st.title("History")
st.info("Your past forecasts: reopen, compare, delete. Coming with the analyst-app issue.")
