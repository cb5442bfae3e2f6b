"""The agents on the pages: running them for a forecast, their stored results, deep reports, the agent tables,\nthe white-label branding of reports and the product reading."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from core.render import reports
from core.services import records
from views._ui.resources import cities, db, get_settings
from views._ui.session import current_user

AGENT_LABELS = reports.AGENT_LABELS
log = logging.getLogger(__name__)


def user_branding():
    """The signed-in user's white-label settings for exports (None: ours)."""
    from core.accounts import branding

    return branding.for_reports(db(), current_user())


def start_agents_for(forecast_id: str, product, countries, ad_budget, user, write) -> None:
    """The five agents for a forecast just saved: a background job (the worker), watched by the Agents
    view; run here in the page only when the job queue cannot take it (logged)."""
    from core.errors import AppError
    from core.services import jobs

    if user is not None:
        try:
            job = jobs.start_agents(db(), get_settings(), user, forecast_id, ad_budget)
        except AppError as exc:
            log.warning(
                "agents for forecast %s run in the page: the job queue refused (%s)", forecast_id, exc
            )
        else:
            st.session_state.setdefault("_agent_jobs", {})[forecast_id] = job.id
            write(
                "The five agents are writing their analysis in the background (their tab fills in when done)"
            )
            return
    run_agents_for(forecast_id, product, countries, ad_budget, user, write)


def run_agents_for(forecast_id: str, product, countries, ad_budget, user, write) -> dict:
    """Run the agents in this script thread, one progress line per agent as it finishes."""
    from agents.context import AgentContext
    from agents.runner import run_agents
    from agents.writers import make_writer

    depth = user.plan.report_depth if user else "full"
    request = {
        "product": product.model_dump(mode="json"),
        "countries": countries or None,
        "budget": ad_budget,
        "depth": depth,
        "cities": user.plan.max_cities if user else None,
    }

    def report(agent: str, out: dict) -> None:
        extra = "; ".join(out.get("notices", []))
        write(
            f"{AGENT_LABELS[agent]}: {out.get('duration_ms', 0):.0f} ms ({out.get('writer')})"
            + (f" - {extra}" if extra else "")
        )

    return run_agents(
        AgentContext(cities(), make_writer(get_settings())),
        request,
        db=db(),
        forecast_id=forecast_id,
        on_update=report,
    )


def agent_results(forecast_id: str) -> dict[str, dict]:
    """The forecast's stored agent results, read once per session and forecast once there are some (none
    yet: read again next time, as a background job may be writing them)."""
    cache = st.session_state.setdefault("_agent_results", {})
    if not cache.get(forecast_id):
        cache.clear()
        cache[forecast_id] = records.load_agent_results(db(), forecast_id)
    return cache[forecast_id]


def agent_table(rows: list[dict], columns: dict[str, tuple[str, str]], key: str | None = None) -> None:
    """An agent's table with readable headers and units: ``columns`` maps a field to (label, kind), kind
    one of text, int, num, num2 (two decimals), money, pct (a share shown x100 with %), days, bool. Fields not listed are
    left out; empty numbers show as blank, never "None"."""
    frame = pd.DataFrame(rows)
    keep = [c for c in columns if c in frame.columns]
    frame = frame[keep].copy()
    config: dict = {}
    formats = {
        "int": "%d",
        "num": "%.1f",
        "num2": "%.2f",
        "money": "dollar",
        "pct": "%.1f %%",
        "days": "%.1f",
    }  # dollar: -$38.27
    for col in keep:
        label, kind = columns[col]
        if kind == "pct":
            frame[col] = 100 * pd.to_numeric(frame[col], errors="coerce")
        if kind == "bool":
            config[col] = st.column_config.CheckboxColumn(label)
        elif kind in formats:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
            config[col] = st.column_config.NumberColumn(label, format=formats[kind])
        else:
            frame[col] = frame[col].fillna("").astype(str)
            config[col] = st.column_config.TextColumn(label)
    st.dataframe(frame, hide_index=True, column_config=config, key=key)


def read_product(name: str, description: str, category: str | None):
    """What the product is (agents.understanding.read_product with this server's writer)."""
    from agents.understanding import read_product as read
    from agents.writers import make_writer

    return read(make_writer(get_settings()), name, description, category)
