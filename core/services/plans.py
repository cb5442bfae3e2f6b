"""What is on sale: the plan comparison the Account page shows (plans and deep reports, from their tables)."""

from __future__ import annotations

import pandas as pd

from core.accounts.tiers import CUSTOM_CITY_USD, WHITE_LABEL_USD, all_tiers
from core.render.reports import report_types
from core.services.forecasts import STORED_RESULTS


def tier_table() -> pd.DataFrame:
    """The tier comparison shown on the Account page: only what the product does today.

    Priority support stays in data/tiers.csv but is not offered here: nothing in the product provides it.
    """

    def fmt(v: int | None, unit: str = "") -> str:
        return "unlimited" if v is None else f"{v:,}{unit}"

    tiers = all_tiers()
    deep = ", ".join(f"{t.name} ${t.price_usd:,.0f}" for t in report_types().values())
    rows = {
        "Price": [f"${t.price_usd_month:,.0f}/mo" for t in tiers],
        "Forecasts per month": [fmt(t.forecasts_per_month) for t in tiers],
        # what the plan shows, stores and exports: an unlimited plan keeps the best STORED_RESULTS per forecast
        "Cities": [f"top {t.max_cities or STORED_RESULTS:,}" for t in tiers],
        "Agent reports": [t.report_depth for t in tiers],
        "API access": [
            f"yes, {t.api_requests_per_minute:,} requests/min" if t.api_access else "no" for t in tiers
        ],
        "White-label reports": [f"add-on ${WHITE_LABEL_USD}/mo" if t.white_label else "no" for t in tiers],
        "Deep reports (each)": [deep for _t in tiers],
        "Your own city data": [f"${CUSTOM_CITY_USD} per city" for _t in tiers],
        "Marketplace connections (Shopify, Etsy, Amazon)": [fmt(t.marketplace_integrations) for t in tiers],
    }
    return pd.DataFrame(rows, index=[t.label for t in tiers]).T
