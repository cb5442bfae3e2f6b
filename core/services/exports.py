"""Export use cases: the plan's limits checked, then the file rendered (core.render.exports).

The one place a plan limits an export; the Results page, the API and the deep-report build call these
(the renderers themselves know nothing of plans).
"""

from __future__ import annotations

import pandas as pd

from core import telemetry
from core.accounts.tiers import Tier, check_cities, check_depth
from core.render import exports
from core.render import pdf as pdf_report


def csv_for(tier: Tier | None, table: pd.DataFrame) -> bytes:
    """The ranking as CSV; a table longer than the plan's city limit is refused (LimitError)."""
    if tier is not None:
        check_cities(tier, len(table))
    return exports.csv_bytes(table)


def xlsx_for(tier: Tier | None, table: pd.DataFrame, metadata: dict) -> bytes:
    """The ranking and its parameters as Excel; the plan's city limit is checked first."""
    if tier is not None:
        check_cities(tier, len(table))
    return exports.xlsx_bytes(table, metadata)


def pdf_for(tier: Tier | None, report: pdf_report.ReportInput) -> bytes:
    """The PDF report; more cities than the plan allows, or a deeper report than it includes, are refused."""
    if tier is not None:
        check_cities(tier, len(report.table))
        check_depth(tier, report.depth)
    with telemetry.span("export.pdf", cities=len(report.table), depth=report.depth):
        return pdf_report.pdf_bytes(report)
