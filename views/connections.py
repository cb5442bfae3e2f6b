"""Connections: marketplace shops (Shopify, Etsy) whose orders feed calibration; add, sync, remove."""

from __future__ import annotations

import streamlit as st

from core.accounts import connections, syncs
from core.errors import AppError
from core.services import jobs as job_service
from core.text import sentence
from views import _ui

st.title("Marketplace connections")
st.caption(
    "Connect a shop and its orders become sales by city for the Calibrate page (the same matching and "
    "match report as a CSV). Only city, region, country, date, quantity and amount of each order are kept; "
    "credentials are encrypted and never shown again."
)
user = _ui.current_user()
db, settings = _ui.db(), _ui.get_settings()
limit = connections.connection_limit(user)

mine = connections.list_for(db, user.id)
active = [c for c in mine if c.status != "revoked"]
st.markdown(
    f"**{len(active)}** of {limit if limit is not None else 'unlimited'} connections on the {user.plan.label} plan."
)


def sync_job(connection_id: str) -> job_service.JobInfo | None:
    """The connection's queued or running sync (a background job); None when there is none or the queue
    cannot be read (said on the page)."""
    try:
        return job_service.sync_job(db, settings, user.id, connection_id)
    except AppError as exc:
        st.warning(sentence(str(exc)))
        return None


@st.fragment(run_every=1.0)
def progress(connection_id: str) -> None:
    """While the sync job runs: the orders imported so far (the sync counts them on the connection row)."""
    job = sync_job(connection_id)
    if job is None:
        st.rerun()  # finished: the rows below show the result (or the error) from the database
    if job.status == "queued":
        st.progress(0.0, text="Queued: the sync starts when the background worker is free")
        return
    orders = connections.get(db, user.id, connection_id).orders
    st.progress(1.0, text=f"Importing: {orders:,} orders so far")


for c in mine:
    with st.container(border=True):
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"**{c.name}** · {connections.KINDS.get(c.kind, c.kind)} · status **{c.status}**")
        last = f"{c.last_sync_at:%Y-%m-%d %H:%M} UTC" if c.last_sync_at else "never"
        c1.caption(
            f"{c.orders:,} orders imported · {c.skipped:,} without a usable shipping city · last sync {last}"
        )
        if c.last_error:
            c1.error(c.last_error)
        if c.status == "revoked":
            continue
        job = sync_job(c.id)
        if job is not None:
            progress(c.id)
        elif c.status == "syncing":
            c1.warning("The last sync was interrupted; syncing again resumes where it stopped.")
        if job is None and c2.button("Sync now", key=f"cn_sync_{c.id}"):
            try:
                job_service.start_sync(db, settings, user.id, c.id)
            except AppError as exc:
                c1.error(sentence(str(exc)))
            else:
                st.rerun()
        if c2.button("Remove", key=f"cn_remove_{c.id}", help="Forget the credentials; imported orders stay"):
            connections.revoke(db, user.id, c.id)
            st.rerun()

st.subheader("Connect a shop")
kind = st.segmented_control(
    "Marketplace",
    list(connections.KINDS),
    format_func=connections.KINDS.get,
    key="cn_kind",
    default="shopify",
    required=True,
)
with st.form("cn_add", clear_on_submit=False):
    if kind == "shopify":
        st.caption(
            "A custom app's Admin API access token with the read_orders scope (Shopify admin -> Settings -> "
            "Apps and sales channels -> Develop apps)."
        )
        creds = {
            "shop": st.text_input("Shop domain", placeholder="my-shop.myshopify.com"),
            "access_token": st.text_input("Admin API access token", type="password"),
        }
    elif kind == "amazon":
        st.caption(
            "Your SP-API application's Login with Amazon client id and secret, the seller's refresh token "
            "(from authorising the app; role: Orders), the marketplace ids and the region's endpoint."
        )
        creds = {
            "client_id": st.text_input("LWA client id"),
            "client_secret": st.text_input("LWA client secret", type="password"),
            "refresh_token": st.text_input("Refresh token", type="password"),
            "marketplace_ids": st.text_input(
                "Marketplace ids (comma-separated)", placeholder="A1PA6795UKMFR9"
            ),
            "region": st.selectbox("Region", ["eu", "na", "fe"]),
        }
    elif kind == "demo":
        st.info(
            "A demo shop: 900 sample orders bundled with the app, drawn from city populations in six European "
            "countries. They are not real sales: use it to see connect -> sync -> Calibrate without a marketplace "
            "account."
        )
        creds = {}
    else:
        st.caption(
            "Your Etsy app's keystring, the shop id, and an OAuth access and refresh token with the "
            "transactions_r scope (Etsy's OAuth 2 with PKCE)."
        )
        creds = {
            "keystring": st.text_input("App keystring"),
            "shop_id": st.text_input("Shop id"),
            "access_token": st.text_input("Access token", type="password"),
            "refresh_token": st.text_input("Refresh token", type="password"),
        }
    name = st.text_input("Name (optional)")
    if st.form_submit_button("Connect", type="primary"):
        try:
            with st.spinner(
                f"Checking the credentials with {connections.KINDS[kind]} (at most "
                f"{connections.CHECK_TIMEOUT_S:.0f} s) ..."
            ):
                info = connections.add(
                    db, settings, user, kind, creds, name, test=syncs.test_credentials(settings)
                )
        except AppError as exc:
            st.error(sentence(exc))
        else:
            st.success(f"Connected {info.name}. Sync it to import its orders.")
            st.rerun()
