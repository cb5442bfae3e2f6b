"""Results -> Export: CSV, Excel, parameters, PDF, and deep reports to buy."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import streamlit as st

from core.billing import deep_reports
from core.errors import AppError
from core.forecast import ScoreWeights
from core.render import exports, reports
from core.services import exports as export_service
from core.services import jobs
from core.services.forecasts import result_limit
from core.text import sentence
from views import _ui
from views.results_views.context import ResultsContext


def render(ctx: ResultsContext, shown, price: float, cost: float, weights: ScoreWeights) -> None:
    st.markdown("Both files reproduce exactly the ranking shown (filters and what-if values applied).")
    slug = "".join(ch if ch.isalnum() else "_" for ch in ctx.product.name)[:40] or "forecast"
    tier = ctx.user.plan if ctx.user else None
    st.download_button(
        "Download CSV",
        # Written with the page, not on the click: a deferred download's file can be dropped by Streamlit's
        # clean-up when other sessions close before the browser fetches it (seen with 20 analysts at once).
        export_service.csv_for(tier, shown),
        f"{slug}_ranking.csv",
        "text/csv",
        key="rs_csv",
        icon=":material/table:",
        on_click="ignore",
    )
    meta = exports.csv_metadata(
        ctx.product.model_dump(mode="json"),
        {"price": price, "unit_cost": cost, "weights": weights.model_dump()},
        ctx.scope,
        tier.name if tier else None,
        datetime.now(UTC),
    )
    st.download_button(
        "Download Excel",
        lambda: export_service.xlsx_for(tier, shown, meta),
        f"{slug}_ranking.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="rs_xlsx",
        icon=":material/grid_on:",
        on_click="ignore",
        help="The ranking on one sheet, the parameters that produced it on a second",
    )
    st.download_button(
        "Download parameters (JSON)",
        json.dumps(meta, indent=2, ensure_ascii=False),
        f"{slug}_ranking_parameters.json",
        "application/json",
        key="rs_meta",
        icon=":material/data_object:",
        on_click="ignore",
        help="What produced the CSV: product, price, cost, ships-from, scope, plan, date",
    )

    def build_pdf() -> bytes:
        report = reports.ranking_report(
            ctx.prep,
            shown,
            _ui.agent_results(ctx.forecast_id),
            price=price,
            cost=cost,
            weights=weights,
            depth=tier.report_depth if tier else "full",
            scope=ctx.scope,
            branding=_ui.user_branding(),
        )
        return export_service.pdf_for(tier, report)

    st.download_button(
        "Download PDF report",
        build_pdf,
        f"{slug}_report.pdf",
        "application/pdf",
        key="rs_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
    )
    if ctx.user is not None:
        _deep_reports(ctx)


def _deep_reports(ctx: ResultsContext) -> None:
    """Buy a deep report of this forecast (any plan); a paid one is built by a background job (the worker)
    while the analyst works on, then stays downloadable."""
    st.markdown(
        "**Deep report**: every agent at full depth, more cities, price and ad-budget sensitivity, method "
        "and sources, on your white-label if you have it."
    )
    types = reports.report_types()
    plan_cities = result_limit(ctx.user)
    c1, c2 = st.columns([3, 1])
    kind = c1.selectbox(
        "Deep report type",
        list(types),
        key="rs_deep_type",
        format_func=lambda k: (
            f"{k.capitalize()} - ${types[k].price_usd:,.0f}: {reports.promise(types[k], plan_cities)}"
        ),
    )
    if c2.button("Buy deep report", key="rs_deep_buy"):
        try:
            info = deep_reports.create(_ui.db(), _ui.get_settings(), ctx.user, ctx.forecast_id, kind)
        except AppError as exc:
            st.error(sentence(exc))
        else:
            if info.checkout_url:
                st.link_button("Continue to Stripe to pay for the report", info.checkout_url, type="primary")
                st.caption("The report is built once Stripe confirms the payment; it then appears below.")
    _deep_report_list(ctx)


def _deep_report_list(ctx: ResultsContext) -> None:
    """The forecast's deep reports: paid ones are queued for building (once) and listed with their job's
    state, watched until built; ready ones download."""
    building: list[str] = []
    for info in [r for r in deep_reports.list_for(_ui.db(), ctx.user.id) if r.forecast_id == ctx.forecast_id]:
        label = f"{info.report_type.capitalize()} deep report, {info.created_at:%Y-%m-%d %H:%M} UTC"
        if info.status == "ready":
            st.download_button(
                f"Download {label}",
                lambda rid=info.id: deep_reports.pdf(_ui.db(), ctx.user.id, rid) or b"",
                f"deep_report_{info.id[:8]}.pdf",
                "application/pdf",
                key=f"rs_deep_{info.id}",
                icon=":material/description:",
                on_click="ignore",
            )
        elif info.status == "paid":
            try:
                job = jobs.build_deep_report(_ui.db(), _ui.get_settings(), ctx.user.id, info.id)
            except AppError as exc:
                st.error(f"{label}: {sentence(exc)}")
                continue
            if not job.finished:
                building.append(job.id)
            state = job.error if job.status == "failed" else _JOB_STATES[job.status]
            st.caption(f"{label}: {state}")
        else:
            st.caption(f"{label}: {info.status.replace('_', ' ')}")
    if building:
        st.caption("The report appears here when it is built; you can keep working meanwhile.")
        _watch_jobs(ctx.user.id, tuple(building))


@st.fragment(run_every=2.0)
def _watch_jobs(user_id: str, job_ids: tuple[str, ...]) -> None:
    """Every two seconds, while a job runs: one look at the queue (nothing is drawn); the page is redrawn
    once they are all finished."""
    db, settings = _ui.db(), _ui.get_settings()
    try:
        finished = all(jobs.job(db, settings, user_id, j).finished for j in job_ids)
    except AppError as exc:
        st.error(sentence(exc))
        return
    if finished:
        st.rerun()


_JOB_STATES = {
    "queued": "paid, waiting for the report builder (a background job)",
    "running": "being built (the agents run at full depth, then the PDF is written)",
    "done": "built",
}
