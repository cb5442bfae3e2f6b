"""Admin: users, tiers, usage, recent agent logs; change a user's tier or role (admins only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import accounts, billing
from core.accounts.tiers import all_tiers
from core.errors import AppError
from core.services import records
from core.text import sentence
from views import _ui

st.title("Admin")
actor = _ui.current_user()
db = _ui.db()
try:
    rows = accounts.admin_list_users(db, actor)
except AppError as exc:
    st.error(sentence(exc))
    st.stop()

st.dataframe(
    pd.DataFrame([r.__dict__ for r in rows]).drop(columns=["id"]),
    hide_index=True,
    column_config={
        "email": "E-mail",
        "tier": "Plan",
        "role": "Role",
        "status": "Status",
        "is_demo": st.column_config.CheckboxColumn("Demo account"),
        "forecasts_this_month": st.column_config.NumberColumn("Forecasts this month", format="%d"),
        "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
    },
)

st.subheader("Change a user")
if done := st.session_state.pop("ad_done", None):
    st.success(done)
email = st.selectbox("User", [r.email for r in rows], key="ad_email")
chosen = next(r for r in rows if r.email == email)
tiers, roles = [t.name for t in all_tiers()], list(accounts.ROLES)
with st.form(f"admin_change_{chosen.id}"):  # a new form per user: the boxes start at that user's values
    tier = st.selectbox("Tier", tiers, index=tiers.index(chosen.tier), key=f"ad_tier_{chosen.id}")
    role = st.selectbox("Role", roles, index=roles.index(chosen.role), key=f"ad_role_{chosen.id}")
    submitted = st.form_submit_button("Apply", type="primary")
if submitted:
    try:
        accounts.admin_update(db, actor, email, tier=tier, role=role)
    except AppError as exc:
        st.error(sentence(exc))  # nothing was changed: the plan and the role are one transaction
    else:
        st.session_state["ad_done"] = f"{email}: tier {tier}, role {role}."
        st.rerun()

st.subheader("Plan and role changes (audit trail)")
trail = accounts.recent_audit(db)
if trail:
    st.dataframe(
        trail,
        hide_index=True,
        column_config={
            "when": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "user": "User",
            "change": "Change",
            "from": "From",
            "to": "To",
            "by": "By",
            "source": "Source",
        },
    )
else:
    st.info("No plan or role changes recorded yet.")

st.subheader("Stripe events not applied")
failed = billing.failed_events(db)
if failed:
    st.caption(
        "Signed webhook events that could not be applied, with the reason. Stripe retries them (they were "
        "answered with an error); `python -m core billing sync` reconciles subscription status; an event "
        "applied later leaves this list."
    )
    st.dataframe(
        failed,
        hide_index=True,
        column_config={
            "event": "Event",
            "type": "Type",
            "answer": st.column_config.NumberColumn("Answer", format="%d"),
            "reason": "Reason",
            "attempts": st.column_config.NumberColumn("Attempts", format="%d"),
            "first": st.column_config.DatetimeColumn("First (UTC)", format="YYYY-MM-DD HH:mm"),
            "last": st.column_config.DatetimeColumn("Last (UTC)", format="YYYY-MM-DD HH:mm"),
            "resolved": None,
        },
    )
else:
    st.caption("Every signed Stripe event received was applied.")

st.subheader("Recent agent runs")
logs = records.recent_agent_logs(db)
if logs.empty:
    st.info("No agent runs logged yet.")
else:
    st.dataframe(
        logs,
        hide_index=True,
        column_config={
            "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "forecast_id": "Forecast",
            "agent_name": "Agent",
            "writer": "Writer",
            "execution_time_ms": st.column_config.NumberColumn("Time (ms)", format="%.0f"),
            "tokens_used": st.column_config.NumberColumn("Tokens", format="%d"),
        },
    )
