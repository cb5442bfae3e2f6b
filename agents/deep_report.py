"""Build a paid deep report: run the five agents at full depth for a stored forecast and render the
PDF (core.reports.deep_report), then store it with the report record (core.deep_reports)."""

from __future__ import annotations

import logging

from agents.context import AgentContext
from agents.reruns import agents_request
from agents.runner import run_agents
from core.accounts import branding, get_user
from core.billing import deep_reports
from core.db import repo
from core.db.database import Database
from core.forecast import CityArrays, prepare
from core.render import pdf as pdf_report
from core.render.reports import deep_report, report_type
from core.services.forecasts import product_from_params, result_limit, result_table

log = logging.getLogger(__name__)


def build(db: Database, ca: CityArrays, writer, report_id: str, user_id: str) -> deep_reports.DeepReportInfo:
    """Build and store the PDF of a paid deep report (once; a ready report is returned as it is)."""
    info = deep_reports.get(db, user_id, report_id)
    if info.status in ("ready", "pending_payment"):
        return info
    try:
        record = repo.load_forecast(db, info.forecast_id, user_id)
        product = product_from_params(record.params)
        scope = list(record.params.get("countries") or [])
        user = get_user(db, user_id=user_id)
        request = agents_request(record, user, None, depth="full")
        agents = run_agents(AgentContext(ca, writer), request, db=db, forecast_id=record.id)
        kind = report_type(info.report_type)
        shown = result_table(record, ca).head(result_limit(user))  # the plan's cities
        content = pdf_report.pdf_bytes(
            deep_report(prepare(ca, product), shown, agents, kind, scope, branding.for_reports(db, user))
        )
    except Exception as exc:
        log.exception("deep report %s could not be built", report_id)
        deep_reports.store(db, report_id, None, error=type(exc).__name__)
        raise
    deep_reports.store(db, report_id, content)
    log.info("deep report %s built (%d bytes)", report_id, len(content))
    return deep_reports.get(db, user_id, report_id)
