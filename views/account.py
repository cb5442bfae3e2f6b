"""Account: plan, usage meter, tier table, upgrades (Stripe or demo), password change."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core import accounts, billing
from core.errors import AppError
from core.tiers import all_tiers, tier_table
from views import _ui

st.title("Account")
user = _ui.current_user()
settings = _ui.get_settings()
db = _ui.db()

session_id = st.query_params.get("session_id")
if session_id:
    try:
        tier = billing.confirm_checkout(db, settings, session_id, user)
    except AppError as exc:
        st.error(str(exc))
    else:
        st.success(f"Stripe confirmed your payment: you are now on the {tier.capitalize()} plan.")
        user = _ui.current_user()
    st.query_params.clear()
elif st.query_params.get("checkout") == "cancelled":
    st.info("Checkout cancelled; your plan is unchanged.")
    st.query_params.clear()

plan = user.plan
now = datetime.now(UTC)
used = accounts.forecasts_used(db, user.id, now)
c1, c2, c3 = st.columns(3)
c1.metric("Plan", plan.label, help=f"status: {user.status}")
c2.metric("Role", user.role)
limit = plan.forecasts_per_month
c3.metric("Forecasts this month", f"{used} / {limit if limit is not None else 'unlimited'}")
if limit is not None:
    st.progress(min(1.0, used / limit), text=f"{used} of {limit} used; resets on {accounts.next_reset(now):%Y-%m-%d}")
else:
    st.caption(f"Unlimited forecasts; {used} run this month.")

st.subheader("Plans")
st.dataframe(tier_table(), width="stretch")

how = billing.mode(settings)
if how == "demo":
    st.info("Demo mode: payments are not configured, so upgrades are simulated. An admin can set your plan on the Admin page.")
elif how == "none":
    st.info("Payments are not configured on this server. An administrator sets plans on the Admin page.")
else:
    cols = st.columns(len(all_tiers()))
    for col, t in zip(cols, all_tiers(), strict=True):
        if t.name == user.tier:
            col.button(f"{t.label} (current)", disabled=True, key=f"up_{t.name}")
        elif col.button(f"Choose {t.label} - ${t.price_usd_month:,.0f}/mo", key=f"up_{t.name}"):
            try:
                url = billing.upgrade_url(settings, user, t.name)
            except AppError as exc:
                st.error(str(exc))
            else:
                st.link_button(f"Continue to Stripe to pay for {t.label}", url, type="primary")
                st.caption("Your plan changes once Stripe confirms the payment.")

st.subheader("Change password")
auth = _ui.authenticator()
try:
    changed = auth.reset_password(st.session_state.get("username", user.email), location="main", key="pw_change")
except Exception as exc:
    st.error(str(exc))
else:
    if changed:
        rec = st.session_state["_credentials"]["usernames"][user.email]
        accounts.set_password_hash(db, user.email, rec["password"])
        st.success("Password changed.")
