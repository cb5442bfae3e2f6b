"""Account -> Your city data: your own figures for a city (the $99-per-city add-on), used in your forecasts only."""

from __future__ import annotations

import streamlit as st

from core import billing
from core.accounts.tiers import CUSTOM_CITY_USD
from core.errors import AppError
from core.forecast.custom import FIGURES, describe_figures
from core.services import cities as city_service
from core.text import sentence
from views import _ui

KINDS = ("A city in the table", "A city the table lacks")


def render(settings, user) -> None:
    st.subheader("Your city data")
    st.caption(
        f"Your own figures for a city -- population, income per head, online buyers, local price level -- each "
        f"with its source, used in your forecasts only (Why this score says 'your data'): ${CUSTOM_CITY_USD} per "
        "city, changing its figures later is free. Forecasts made before keep the figures they were made with."
    )
    if st.query_params.get("custom_city") == "ok":
        st.success("Stripe confirmed the payment; the city's data is used once the payment is recorded.")
    if flash := st.session_state.pop("cc_flash", None):
        st.success(flash)
    db, base = _ui.db(), _ui.shared_cities()
    rows = city_service.list_cities(db, user.id, base)
    if rows:
        st.dataframe(
            {
                "City": [r.city for r in rows],
                "Status": [r.status.replace("_", " ") for r in rows],
                "Your figures (source)": [describe_figures(r.figures, r.sources) for r in rows],
            },
            hide_index=True,
        )
        c1, c2 = st.columns([3, 1])
        which = c1.selectbox("Remove a city's data", [r.city for r in rows], key="cc_remove_pick")
        if c2.button("Remove", key="cc_remove_btn"):
            row = next(r for r in rows if r.city == which)
            city_service.remove_city(db, user.id, row.id)
            st.session_state["cc_flash"] = (
                f"Removed your data for {row.city}: new forecasts use the shared figures."
            )
            st.rerun()
    if billing.mode(settings) not in ("demo", "checkout"):
        st.info(
            "Payments are not configured on this server (Stripe Checkout), so new city data cannot be bought."
        )
        return
    _form(db, settings, user, base)


def _form(db, settings, user, base) -> None:
    kind = st.radio("Which city", KINDS, horizontal=True, key="cc_kind")
    with st.form("custom_city"):
        place: dict = {}
        if kind == KINDS[0]:
            place["city"] = st.text_input("City", placeholder="Campinas, BR", key="cc_city")
        else:
            labels = _ui.country_labels()
            c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
            place["name"] = c1.text_input("Name", key="cc_name")
            place["country_iso2"] = c2.selectbox(
                "Country", list(labels), format_func=labels.get, key="cc_country"
            )
            place["lat"] = c3.number_input("Latitude", -90.0, 90.0, value=None, format="%.4f", key="cc_lat")
            place["lon"] = c4.number_input(
                "Longitude", -180.0, 180.0, value=None, format="%.4f", key="cc_lon"
            )
        figures, sources = {}, {}
        for key, fig in FIGURES.items():
            c1, c2 = st.columns([1, 2])
            figures[key] = c1.number_input(
                f"{fig.label} ({fig.unit})",
                min_value=0.0,
                value=None,
                key=f"cc_{key}",
                help="empty: keep the table's",
            )
            sources[key] = c2.text_input(f"Source of the {fig.label.lower()}", key=f"cc_{key}_source")
        if not st.form_submit_button(f"Save (new city: ${CUSTOM_CITY_USD})"):
            return
    try:
        info = city_service.save_city(
            db, settings, user, base, city_service.CityRequest(figures=figures, sources=sources, **place)
        )
    except AppError as exc:
        st.error(sentence(exc))
        return
    if info.checkout_url:
        st.link_button(
            f"Continue to Stripe to pay ${info.price_usd:,.0f} for {info.city}",
            info.checkout_url,
            type="primary",
        )
        st.caption("Your data for the city is used once Stripe confirms the payment.")
        return
    st.session_state["cc_flash"] = f"Saved: your forecasts now use your data for {info.city}."
    st.rerun()
