"""Account: plan, usage meter, tier table, upgrades (Stripe or demo), API keys, white-label, your city data,
password change."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core import accounts, billing
from core.accounts import apikeys, branding
from core.accounts.tiers import all_tiers
from core.errors import AppError
from core.services.plans import tier_table
from core.text import sentence
from views import _ui
from views.account_views import city_data

st.title("Account")
if flash := st.session_state.pop("acct_flash", None):
    st.success(flash)
user = _ui.current_user()
settings = _ui.get_settings()
db = _ui.db()

session_id = st.query_params.get("session_id")
if session_id:
    try:
        tier = billing.confirm_checkout(db, settings, session_id, user)
    except AppError as exc:
        st.error(sentence(exc))
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
    st.progress(
        min(1.0, used / limit), text=f"{used} of {limit} used; resets on {accounts.next_reset(now):%Y-%m-%d}"
    )
else:
    st.caption(f"Unlimited forecasts; {used} run this month.")

st.subheader("Plans")
st.table(
    tier_table()
)  # a static table wraps long cells ("Marketplace connections ...") instead of cutting them


def _plan_buttons(prefix: str, label: str) -> list:
    """One button per plan (the current one disabled); the plans whose button was pressed."""
    chosen = []
    for col, t in zip(st.columns(len(all_tiers())), all_tiers(), strict=True):
        if t.name == user.tier:
            col.button(f"{t.label} (current)", disabled=True, key=f"{prefix}_{t.name}")
        elif col.button(
            label.format(label=t.label, price=f"${t.price_usd_month:,.0f}"), key=f"{prefix}_{t.name}"
        ):
            chosen.append(t)
    return chosen


how = billing.mode(settings)
if how == "demo":
    st.info(
        "Demo mode: payments are not configured, so a plan change is simulated: it applies at once, no payment "
        "is taken, and it is recorded in the audit trail as a demo change."
    )
    for t in _plan_buttons("demo", "Switch to {label} (demo, {price}/mo simulated)"):
        try:
            billing.demo_change_plan(db, settings, user, t.name)
        except AppError as exc:
            st.error(sentence(exc))
        else:
            st.session_state["acct_flash"] = f"Your plan is now {t.label} (simulated in demo mode)."
            st.rerun()
elif how == "none":
    st.info("Payments are not configured on this server. An administrator sets plans on the Admin page.")
else:
    for t in _plan_buttons("up", "Choose {label} - {price}/mo"):
        try:
            url = billing.upgrade_url(settings, user, t.name)
        except AppError as exc:
            st.error(sentence(exc))
        else:
            st.link_button(f"Continue to Stripe to pay for {t.label}", url, type="primary")
            st.caption("Your plan changes once Stripe confirms the payment.")

st.subheader("API keys")
if not plan.api_access:
    st.info(
        f"The {plan.label} plan has no API access; it comes with the {' and '.join(apikeys.plans_with_api())} plans."
    )
else:
    st.caption(
        f"Use a key as `Authorization: Bearer <key>` against the API (docs at /docs on the API server); "
        f"{plan.api_requests_per_minute:,} requests a minute on {plan.label}, all your keys together."
    )
    with st.form("api_key_new", clear_on_submit=True):
        name = st.text_input("Key name", max_chars=100, placeholder="e.g. reporting script")
        if st.form_submit_button("Create API key"):
            try:
                info, token = apikeys.create_key(db, user, name)
            except AppError as exc:
                st.error(sentence(exc))
            else:
                st.session_state["new_api_key"] = token
    if token := st.session_state.pop("new_api_key", None):
        st.success("Your new API key. Copy it now: it is shown only once and cannot be recovered.")
        st.code(token, language=None)
    keys = apikeys.list_keys(db, user.id)
    if keys:
        st.dataframe(
            [
                {
                    "Key": f"{k.prefix}...",
                    "Name": k.name,
                    "Created": f"{k.created_at:%Y-%m-%d %H:%M}",
                    "Last used": f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
                    "Status": "active" if k.active else "revoked",
                }
                for k in keys
            ],
            hide_index=True,
        )
        active = {f"{k.prefix}... {k.name}".strip(): k.id for k in keys if k.active}
        if active:
            c1, c2 = st.columns([3, 1])
            which = c1.selectbox("Revoke a key", list(active), key="api_key_revoke")
            sure = st.checkbox(
                "Scripts using this key stop working at once; revoke it", key="api_key_revoke_sure"
            )
            if c2.button("Revoke", key="api_key_revoke_btn", disabled=not sure):
                apikeys.revoke_key(db, user.id, active[which])
                st.session_state["api_flash"] = f"Revoked {which}: requests with it are refused from now on."
                st.session_state.pop("api_key_revoke_sure", None)
                st.rerun()
    if flash := st.session_state.pop("api_flash", None):
        st.success(flash)

st.subheader("White-label reports")
if not plan.white_label:
    st.info(
        f"Your company's name, logo and colour on PDF exports and deep reports: an add-on of the Master plan "
        f"(${branding.ADDON_PRICE_USD}/month)."
    )
else:
    row = branding.get(db, user.id)
    if st.query_params.get("white_label") == "ok":
        st.success("Stripe confirmed the white-label add-on; it is active once the payment is recorded.")
    if row is None or not row.active:
        if st.button(f"Add white-label reports - ${branding.ADDON_PRICE_USD}/mo", key="wl_buy"):
            try:
                url = billing.white_label_url(settings, user)
            except AppError as exc:
                st.error(sentence(exc))
            else:
                if url is None:  # demo mode: simulated purchase
                    branding.activate(db, user.id)
                    st.rerun()
                st.link_button("Continue to Stripe to pay for the add-on", url, type="primary")
    else:
        with st.form("white_label"):
            company = st.text_input("Company name on reports", value=row.company_name, max_chars=120)
            colour = st.color_picker("Heading colour", value=row.colour)
            logo = st.file_uploader("Logo (PNG or SVG, at most 300 kB)", type=["png", "svg"])
            remove = st.checkbox("Remove the current logo", disabled=row.logo is None)
            if st.form_submit_button("Save white-label settings"):
                try:
                    branding.save(
                        db, user, company, colour, logo.getvalue() if logo else None, remove_logo=remove
                    )
                except AppError as exc:
                    st.error(sentence(exc))
                else:
                    st.success("Saved: your PDF exports and deep reports now carry these.")
        if row.logo and row.logo_type == "png":
            st.image(row.logo, caption="Current logo", width=160)

city_data.render(settings, user)

st.subheader("Change password")
auth = _ui.authenticator()
try:
    changed = auth.reset_password(
        st.session_state.get("username", user.email), location="main", key="pw_change"
    )
except Exception as exc:
    st.error(sentence(exc))
else:
    if changed:
        rec = st.session_state["_credentials"]["usernames"][user.email]
        since = accounts.set_password_hash(db, user.email, rec["password"])
        st.session_state["_auth_at"] = since.timestamp()  # this session goes on; every other one has ended
        st.success("Password changed. Every other session of yours (other browsers, saved logins) has ended.")
