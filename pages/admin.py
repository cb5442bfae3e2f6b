"""Admin: users, tiers, usage, recent agent logs; change a user's tier or role (admins only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import accounts
from core.db import repo
from core.errors import AppError
from core.tiers import all_tiers
from pages import _ui

_ui.page_guard()
st.title("Admin")
actor = _ui.current_user()
db = _ui.db()
try:
    rows = accounts.admin_list_users(db, actor)
except AppError as exc:
    st.error(str(exc))
    st.stop()

st.dataframe(
    pd.DataFrame([r.__dict__ for r in rows]).drop(columns=["id"]),
    hide_index=True,
    column_config={"forecasts_this_month": st.column_config.NumberColumn("Forecasts this month")},
)

st.subheader("Change a user")
with st.form("admin_change"):
    email = st.selectbox("User", [r.email for r in rows], key="ad_email")
    tier = st.selectbox("Tier", [t.name for t in all_tiers()], key="ad_tier")
    role = st.selectbox("Role", list(accounts.ROLES), key="ad_role")
    submitted = st.form_submit_button("Apply", type="primary")
if submitted:
    try:
        accounts.admin_set_tier(db, actor, email, tier)
        accounts.admin_set_role(db, actor, email, role)
    except AppError as exc:
        st.error(str(exc))
    else:
        st.success(f"{email}: tier {tier}, role {role}.")
        st.rerun()

st.subheader("Recent agent runs")
logs = repo.recent_agent_logs(db)
if logs.empty:
    st.info("No agent runs logged yet.")
else:
    st.dataframe(logs, hide_index=True)
