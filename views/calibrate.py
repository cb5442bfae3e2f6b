"""Calibrate: upload your sales by city; see the match report, honest accuracy, predictions, twins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

from core import calibration
from core.accounts import connections, syncs
from core.errors import AppError
from core.forecast import (
    SHIPPING_PAYER_LABELS,
    SHIPPING_PAYERS,
    ProductInput,
    city_info,
)
from core.forecast.categories import all_categories
from core.services import calibrations, records
from core.services import jobs as job_service
from core.services.calibrations import CalibrationParams
from core.services.forecasts import product_from_params
from core.text import sentence
from views import _ui

st.title("Calibrate with your sales")
st.caption(
    "Upload past sales by city (CSV: `city`, `country` (ISO2, ISO3 or name), optional `region`, exactly one of "
    "`units`, `orders` or `revenue`, optional `period`). A model fitted on your cities predicts the others; "
    "its cross-validated accuracy is shown next to a population-only model."
)
user = _ui.current_user()
ca = _ui.cities()


def _open_product() -> ProductInput | None:
    """The product of the forecast open on Results, if any (the default for the form below)."""
    fid = st.session_state.get("forecast_id")
    if not fid:
        return None
    try:
        return product_from_params(_ui.forecast_record(fid).params)
    except AppError:  # deleted or not this user's: no default, the form still works
        return None


country_names = _ui.country_labels()

my_connections = [c for c in connections.list_for(_ui.db(), user.id) if c.orders] if user else []
source = "Sales file"
if my_connections:
    source = st.segmented_control(
        "Sales from",
        ["Sales file", "Marketplace connections"],
        key="cal_source",
        default="Sales file",
        required=True,
    )

mapping: dict[str, str] | None = None
all_in: str | None = None
if source == "Sales file":  # outside the form: the column mapping needs the file's header first
    upload = st.file_uploader("Sales file (CSV, UTF-8)", type=["csv", "txt"], key="cal_file")
    if upload is not None:
        try:
            columns = calibration.sales_columns(upload.getvalue(), upload.name)
        except AppError as exc:
            st.error(sentence(exc))
            columns = []
        if columns:
            guess = calibration.guess_columns([c.lower() for c in columns])
            st.markdown("**Columns** (guessed from their names; correct them if needed)")
            none = "(none)"
            options = [none, *[c.lower() for c in columns]]
            cols = st.columns(4)
            mapping = {}
            for i, (role, label) in enumerate(
                [
                    ("city", "City"),
                    ("country", "Country"),
                    ("region", "Region (optional)"),
                    ("measure", "Sales measure"),
                ]
            ):
                if role == "measure":
                    m_role = next((m for m in calibration.MEASURES if m in guess), "units")
                    kind = cols[i].selectbox(
                        "Measure is",
                        list(calibration.MEASURES),
                        index=list(calibration.MEASURES).index(m_role),
                        key="cal_map_kind",
                    )
                    pick = cols[i].selectbox(
                        label,
                        options,
                        index=options.index(guess[m_role]) if m_role in guess else 0,
                        key="cal_map_measure",
                    )
                    if pick != none:
                        mapping[kind] = pick
                    continue
                pick = cols[i].selectbox(
                    label,
                    options,
                    index=options.index(guess[role]) if role in guess else 0,
                    key=f"cal_map_{role}",
                )
                if pick != none:
                    mapping[role] = pick
            if "period" in guess:
                mapping["period"] = guess["period"]
            if "country" not in mapping:
                all_in = st.selectbox(
                    "All rows are in",
                    list(country_names),
                    format_func=lambda c: country_names[c],
                    index=None,
                    key="cal_all_in",
                    placeholder="Choose the file's country",
                )
else:
    upload = None

with st.form("calibrate"):
    if source != "Sales file":
        upload = None
        labels = {
            c.id: f"{c.name} ({connections.KINDS[c.kind]}, {c.orders:,} orders)" for c in my_connections
        }
        picked = st.multiselect(
            "Connections",
            list(labels),
            default=list(labels)[:1],
            format_func=labels.get,
            key="cal_connections",
        )
        conn_measure = st.selectbox("Measure", ["units", "orders", "revenue"], key="cal_conn_measure")
    c1, c2, c3 = st.columns(3)
    # The prior is made for a product: by default the open forecast's (else the first category, $30 / $10).
    names = [c.name for c in all_categories()]
    current = _open_product()
    category = c1.selectbox(
        "Category",
        names,
        index=names.index(current.category) if current and current.category in names else 0,
        key="cal_category",
        help="The product the forecast is made for; defaults to the open forecast's",
    )
    price = c2.number_input(
        "Price (US$)", min_value=0.01, value=current.price if current else 30.0, key="cal_price"
    )
    cost = c3.number_input(
        "Unit cost (US$)", min_value=0.0, value=current.unit_cost if current else 10.0, key="cal_cost"
    )
    payer = st.radio(
        "Shipping paid by",
        SHIPPING_PAYERS,
        horizontal=True,
        key="cal_shipping_paid_by",
        index=SHIPPING_PAYERS.index(current.shipping_paid_by) if current else 0,
        format_func=SHIPPING_PAYER_LABELS.get,
        help="As on New Forecast; defaults to the open forecast's",
    )
    countries = st.multiselect(
        "Predict for countries (empty = the countries in the file)",
        list(country_names),
        format_func=lambda c: country_names[c],
        key="cal_countries",
    )
    name = st.text_input("Name for this calibration", value="My sales", key="cal_name")
    trend_kw = st.text_input(
        "Search-interest keyword (optional)",
        key="cal_trend_kw",
        help="Adds Google Trends interest stored for this keyword (Results -> Ranking -> Search "
        "interest) as a feature; cross-validation shows whether it helps",
    )
    run = st.form_submit_button("Calibrate", type="primary")


def _saved(cid: str) -> None:
    st.session_state["calibration_id"] = cid
    st.session_state["cal_pick"] = cid  # the picker shows the new calibration, not the one it had


@st.fragment(run_every=1.0)
def _job_progress(job_id: str) -> None:
    """A large file's calibration runs as a background job: wait for it here, then show it below."""
    try:
        job = job_service.job(_ui.db(), _ui.get_settings(), user.id, job_id)
    except AppError as exc:
        st.warning(sentence(exc))
        return
    if not job.finished:
        st.info(
            "Calibrating in the background (a large file): "
            + ("waiting for the job worker." if job.status == "queued" else "matching cities and fitting.")
        )
        return
    del st.session_state["_cal_job"]
    if job.status == "done":
        _saved(job.result["calibration_id"])
        st.session_state["_cal_done"] = True
    else:
        st.session_state["_cal_failed"] = job.error or "the calibration failed"
    st.rerun()


if run:
    if source == "Sales file" and upload is None:
        st.error("Choose a sales file first.")
    elif source != "Sales file" and not picked:
        st.error("Choose at least one connection.")
    else:
        params = CalibrationParams(
            category=category,
            price=price,
            unit_cost=cost,
            shipping_paid_by=payer,
            countries=countries,
            search_keyword=trend_kw.strip() or None,
        )
        try:
            if source == "Sales file":
                rows, measure = calibration.read_sales(upload.getvalue(), upload.name, mapping, all_in)
            else:
                rows, measure = syncs.sales(_ui.db(), user.id, picked, conn_measure), conn_measure
            if user is not None and calibrations.runs_as_job(_ui.get_settings(), rows):
                job = calibrations.start_calibration(
                    _ui.db(), _ui.get_settings(), user.id, name, rows, measure, params
                )
                st.session_state["_cal_job"] = job.id
            else:
                with st.status("Calibrating ...", expanded=False) as status:
                    status.write("Matching cities and fitting the model")
                    cid = calibrations.calibrate_and_save(
                        _ui.db(), ca, user.id if user else None, name, rows, measure, params
                    )
                    status.update(label="Calibration ready", state="complete")
                _saved(cid)
                st.session_state["_cal_done"] = True
        except calibration.MatchError as exc:
            st.error(sentence(exc))
            st.dataframe(exc.report.unmatched, hide_index=True)
        except AppError as exc:
            st.error(sentence(exc))

if "_cal_job" in st.session_state:
    _job_progress(st.session_state["_cal_job"])
if st.session_state.pop("_cal_done", False):
    st.success("Calibration saved. Use it on Results with the 'Rank by calibrated predictions' switch.")
if failed := st.session_state.pop("_cal_failed", None):
    st.error(sentence(failed))

saved = records.list_calibrations(_ui.db(), user.id if user else None)
if not saved:
    st.info("No calibration yet: upload a sales file above.")
    st.stop()
ids = [c["id"] for c in saved]
labels = {c["id"]: f"{c['created_at']:%Y-%m-%d %H:%M} · {c['name']} ({c['measure']})" for c in saved}
current = st.session_state.get("calibration_id")
pick = st.selectbox(
    "Saved calibrations",
    ids,
    index=ids.index(current) if current in ids else 0,
    format_func=labels.get,
    key="cal_pick",
)
cal = records.load_calibration(_ui.db(), pick, user.id if user else None)
m, rep = cal["metrics"], cal["report"]

st.subheader("Match report")
methods = rep.get("match_methods", {})
st.write(
    f"**{rep['matched_rows']}** rows matched, **{len(rep['unmatched_rows'])}** not matched."
    + (" Matched by: " + ", ".join(f"{k} {v}" for k, v in methods.items()) if methods else "")
)
if rep.get("to_confirm"):
    st.caption(
        "Please confirm these matches: spelled differently from the city's name, or a district counted in its city."
    )
    st.dataframe(
        rep["to_confirm"],
        hide_index=True,
        column_config={"as_written": "In your file", "matched_city": "Matched to"},
    )
if rep["unmatched_rows"]:
    st.caption("Not matched (left out of the model):")
    st.dataframe(rep["unmatched_rows"], hide_index=True)

st.subheader("Accuracy (cross-validated)")
a1, a2, a3 = st.columns(3)
a1.metric(
    "Rank correlation (Spearman)",
    f"{m['cv_spearman']:.2f}",
    f"{m['cv_spearman'] - m['baseline_cv_spearman']:+.2f} vs population-only",
)
a2.metric(
    "Error (RMSE of log sales)",
    f"{m['cv_rmsle']:.2f}",
    f"{m['cv_rmsle'] - m['baseline_cv_rmsle']:+.2f} vs population-only",
    delta_color="inverse",
)
a3.metric("Cities in training", f"{m['n_train']}", help=f"{m['n_folds']}-fold cross-validation")
ok, sentence = calibration.accuracy_claim(m)
(st.success if ok else st.warning)(sentence)
if "prior_cv_spearman" in m:  # calibrations saved before session 5 have none of these figures
    adds, text = calibration.prior_sentence(m)
    (st.caption if adds else st.warning)(text)
    st.caption(calibration.smoothing_sentence(m["smoothing_km"]))
    st.caption(calibration.model_sentence(m["loss"], m.get("model", "full")))

preds = cal["predictions"]
preds = pd.concat([preds.reset_index(drop=True), city_info(ca, preds["city_id"])], axis=1)
new = preds[~preds["in_training"]].head(1000)
st.subheader(f"Predicted {cal['measure']} in cities you do not sell in yet")
if new.empty:
    st.info("Every city in scope is already in your sales file.")
else:
    v = new["predicted"].to_numpy()
    data = new[["city", "country_iso2", "lat", "lon"]].assign(
        color=_ui.ramp(np.log1p(v)),
        radius=3000 + 50000 * np.sqrt(v / max(v.max(), 1e-9)),
        pred=new["predicted"].map("{:,.1f}".format),
    )
    layer = pdk.Layer(
        "ScatterplotLayer",
        data=data,
        id="cal",
        get_position=["lon", "lat"],
        get_fill_color="color",
        get_radius="radius",
        radius_min_pixels=2,
        radius_max_pixels=30,
        pickable=True,
    )
    st.pydeck_chart(
        _ui.deck(
            [layer],
            _ui.view_for(new["lat"].head(50).to_numpy(), new["lon"].head(50).to_numpy()),
            {"html": "<b>{city}</b> ({country_iso2})<br/>predicted {pred}"},
        ),
        key="cal_map",
    )
    _ui.legend(
        f"Predicted {cal['measure']} (colour on a log scale; dot size grows with the prediction)",
        f"{v.min():,.1f}",
        f"{v.max():,.1f}",
    )
    st.dataframe(
        new[["city", "region", "country_iso2", "population", "predicted", "predicted_low", "predicted_high"]],
        hide_index=True,
        column_config={
            "city": "City",
            "region": "Region",
            "country_iso2": "Country",
            "population": st.column_config.NumberColumn("Population", format="localized"),
            "predicted": st.column_config.NumberColumn(f"Predicted {cal['measure']}", format="%.1f"),
            "predicted_low": st.column_config.NumberColumn("80 % low", format="%.1f"),
            "predicted_high": st.column_config.NumberColumn("80 % high", format="%.1f"),
        },
    )

st.subheader("Twin cities of your best cities")
st.caption("Most similar cities you do not sell in yet: standardised city features, PCA, nearest neighbours.")
st.dataframe(
    rep["twins"],
    hide_index=True,
    column_config={
        "city_id": None,
        "twin_id": None,
        "similarity": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
    },
)
