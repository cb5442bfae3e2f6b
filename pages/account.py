"""Account page (planned)."""

import streamlit as st

st.title("Account")
st.info("Your tier, usage and upgrades. Coming with the accounts issue.")
