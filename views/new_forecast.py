"""New Forecast: describe a product, validate it inline, run and persist the ranking, open Results."""

from __future__ import annotations

import streamlit as st

from core import accounts
from core.errors import AppError, InputError
from core.forecast import (
    CLIMATE_CHOICES,
    CLIMATE_LABELS,
    SHIPPING_PAYER_LABELS,
    SHIPPING_PAYERS,
    resolve_origin,
    scope_mask,
    validate_product,
)
from core.forecast.categories import AGE_LABELS, all_categories
from core.forecast.season import MONTH_NAMES, describe
from core.services.forecasts import run_forecast_record
from core.text import sentence
from views import _ui

st.title("New forecast")
st.caption("Describe the product; every city in scope is ranked for it. Fields marked * are required.")

ca = _ui.cities()
origins = _ui.origin_options()
country_names = _ui.country_labels()


def _auto(value, field: str):
    """A field left on "auto": the LLM's reading when it made one (the offline reading is the engine's own)."""
    if str(value).strip().lower() != "auto":
        return value
    got = _reading()
    if not got or got[1] != "llm":
        return value
    return getattr(got[0], field)


def _collect() -> dict:
    ss = st.session_state
    return {
        "name": ss.get("nf_name", ""),
        "description": ss.get("nf_description", ""),
        "category": ss.get("nf_category"),
        "price": ss.get("nf_price"),
        "unit_cost": ss.get("nf_unit_cost"),
        "target_ages": [k for k, v in AGE_LABELS.items() if v in ss.get("nf_ages", [])],
        "ships_from": origins.get(ss.get("nf_ships_from"), None),
        "shipping_paid_by": ss.get("nf_shipping_paid_by", SHIPPING_PAYERS[0]),
        "climate": _auto(ss.get("nf_climate", "auto"), "climate"),
        "season_months": _auto(ss.get("nf_season", "auto") or "auto", "season_months"),
        "launch_month": ss.get("nf_month"),
        "weights": {
            "demand": ss.get("nf_w_demand", 0.5),
            "profitability": ss.get("nf_w_profit", 0.3),
            "competition": ss.get("nf_w_comp", 0.2),
        },
    }


def _validate() -> None:
    """Form callback: check every field; keep the errors by field; queue a valid run."""
    errors: dict[str, str] = {}
    fields = _collect()
    if fields["category"] is None:
        errors["category"] = "Choose a category."
    if fields["price"] is None:
        errors["price"] = "Enter the price in US$."
    if fields["unit_cost"] is None:
        errors["unit_cost"] = "Enter the unit cost in US$ (0 if unknown)."
    product = None
    if not errors:
        try:
            product = validate_product(**fields)
            resolve_origin(product.ships_from, ca)
        except InputError as exc:
            errors[exc.field or "name"] = str(exc)
    countries = st.session_state.get("nf_countries", [])
    if product is not None and countries and not scope_mask(ca, countries).any():
        errors["countries"] = "No city in the chosen countries."
    st.session_state["nf_errors"] = errors
    st.session_state["nf_pending"] = (
        None if errors else (product, countries, st.session_state.get("nf_budget") or None)
    )


def _error(field: str) -> None:
    msg = st.session_state.get("nf_errors", {}).get(field)
    if msg:
        st.error(msg, icon=":material/error:")


def _reading():
    """What the name and description say (the LLM's reading when one is configured, else the offline one),
    read once per text: (reading, source, notices) or None before a name is typed."""
    ss = st.session_state
    name = ss.get("nf_name", "")
    if not name.strip():
        return None
    key = (name, ss.get("nf_description", ""), ss.get("nf_category"))
    if ss.get("_nf_reading_key") != key:
        ss["_nf_reading"] = _ui.read_product(*key)
        ss["_nf_reading_key"] = key
    return ss["_nf_reading"]


def _understood() -> None:
    """What the name and description say about the product, as the forecast will read them."""
    got = _reading()
    if got is None:
        return
    u, source, notices = got
    who = "the LLM" if source == "llm" else "the name and description"
    st.info(
        f"**Read by {who}:** {u.summary()}. The forecast uses this unless you set it under *What the "
        "product is* (a correction wins).",
        icon=":material/psychology:",
    )
    for n in notices:
        st.caption(n)


_understood()

with st.form("new_forecast", border=True):
    left, right = st.columns(2)
    with left:
        st.text_input("Product name *", key="nf_name", max_chars=200, placeholder="Organic cotton T-shirt")
        _error("name")
        st.text_area(
            "Description",
            key="nf_description",
            max_chars=5000,
            height=96,
            placeholder="What it is, who it is for, what makes it different",
        )
        st.selectbox(
            "Category * (Google product taxonomy; type to search)",
            [c.name for c in all_categories()],
            index=None,
            key="nf_category",
            placeholder="Choose a category",
        )
        _error("category")
        c1, c2 = st.columns(2)
        c1.number_input("Price (US$) *", min_value=0.0, value=None, step=1.0, key="nf_price", format="%.2f")
        c2.number_input(
            "Unit cost (US$) *",
            min_value=0.0,
            value=None,
            step=1.0,
            key="nf_unit_cost",
            format="%.2f",
            help="Making or buying one unit, before shipping and fees",
        )
        _error("price")
        _error("unit_cost")
    with right:
        st.multiselect(
            "Target ages", list(AGE_LABELS.values()), key="nf_ages", help="Leave empty for all adults"
        )
        _error("target_ages")
        st.selectbox(
            "Ships from (type to search a city or country)",
            list(origins),
            index=None,
            key="nf_ships_from",
            placeholder="Local fulfilment in each market",
        )
        _error("ships_from")
        st.radio(
            "Shipping paid by",
            SHIPPING_PAYERS,
            format_func=SHIPPING_PAYER_LABELS.get,
            key="nf_shipping_paid_by",
            horizontal=True,
            help="Buyer: demand responds to price + parcel; seller: the parcel is in your "
            "unit cost (docs/methodology.md, section 4)",
        )
        _error("shipping_paid_by")
        st.multiselect(
            "Countries (empty = the whole world)",
            list(country_names),
            key="nf_countries",
            format_func=lambda c: country_names[c],
        )
        _error("countries")
        st.number_input(
            "Monthly ad budget (US$, optional)",
            min_value=0.0,
            value=None,
            step=100.0,
            key="nf_budget",
            help="Drives the Advertising Planner; empty = 10 % of the top cities' expected revenue",
        )
        with st.expander("What the product is (read from the name; correct it here)"):
            st.selectbox(
                "Climate affinity",
                CLIMATE_CHOICES,
                format_func=CLIMATE_LABELS.get,
                key="nf_climate",
                help="Cold-weather products sell where and when it is cold, warm-weather ones where and when "
                "it is hot (docs/methodology.md, section 2b)",
            )
            _error("climate")
            st.text_input(
                "Calendar season (months)",
                value="auto",
                key="nf_season",
                max_chars=40,
                help="Months a calendar event sells the product in every country, e.g. 11-12 for "
                "Christmas; none; or auto (read from the name)",
            )
            _error("season_months")
            st.selectbox(
                "Launch month",
                [None, *range(1, 13)],
                key="nf_month",
                format_func=lambda m: "Average month (no launch month)" if m is None else MONTH_NAMES[m - 1],
                help="Rank by the expected sales in this month: a seasonal product's buyers move between "
                "the hemispheres over the year",
            )
        with st.expander("Score weights (optional)"):
            st.slider("Demand", 0.0, 1.0, 0.5, 0.05, key="nf_w_demand")
            st.slider("Profitability", 0.0, 1.0, 0.3, 0.05, key="nf_w_profit")
            st.slider("Low competition", 0.0, 1.0, 0.2, 0.05, key="nf_w_comp")
            _error("weights")
    st.form_submit_button("Run forecast", type="primary", on_click=_validate, icon=":material/play_arrow:")
# The Results page's map and chart code, basemap and font load while the form is filled, not while the first
# map draws (issue 25.15)
_ui.preload_deck()
_ui.preload_plotly()

# The queued run stays in session state until it has been saved: a rerun that interrupts it
# (another widget or component event) then runs it again instead of losing it.
pending = st.session_state.get("nf_pending")
if st.session_state.get("nf_errors"):
    st.warning("Fix the fields marked above, then run again. Nothing you entered was lost.")
elif pending:
    product, countries, ad_budget = pending
    if product.cost_warning:
        st.warning(f"Warning: {product.cost_warning}.")
    st.caption(
        describe(product.climate, product.season_months, product.launch_month),
        help=f"Read from the name and description: {product.understanding().summary()}",
    )
    user = _ui.current_user()
    try:
        if user is not None:
            accounts.check_quota(_ui.db(), user)  # a refusal is a message, not an empty progress box
        with st.status("Running forecast ...", expanded=True) as status:
            record = run_forecast_record(_ui.db(), ca, product, countries, user=user, on_step=status.write)
            _ui.start_agents_for(record.id, product, countries, ad_budget, user, status.write)
            status.update(label="Forecast ready", state="complete")
    except AppError as exc:
        st.session_state["nf_pending"] = None
        st.error(sentence(exc))
    else:
        st.session_state["nf_pending"] = None
        if product.cost_warning:  # shown again on Results, where the user lands
            st.session_state["rs_warning"] = f"Warning: {product.cost_warning}."
        _ui.open_forecast(record.id, record)
        st.switch_page("views/results.py")
