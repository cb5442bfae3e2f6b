"""Admin page (planned)."""

import streamlit as st

st.title("Admin")
st.info("Users, tiers, usage and agent logs. Coming with the accounts issue.")
