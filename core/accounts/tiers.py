"""Subscription tiers (a data table, data/tiers.csv) and the limits they impose (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from core import paths
from core.errors import LimitError

DEPTHS = ("summary", "detailed", "full")
WHITE_LABEL_USD = 299  # the Master add-on (core.branding)
CUSTOM_CITY_USD = 99  # your own data for one city, any plan (core.billing.custom_cities)


@dataclass(frozen=True)
class Tier:
    name: str
    price_usd_month: float
    forecasts_per_month: int | None  # None = unlimited
    max_cities: int | None  # None = all cities
    report_depth: str
    api_access: bool
    white_label: bool  # the white-label add-on can be bought on this plan (core.accounts.branding)
    priority_support: bool
    marketplace_integrations: int | None
    api_requests_per_minute: int

    @property
    def label(self) -> str:
        return self.name.capitalize()


def _opt_int(v: object) -> int | None:
    return None if pd.isna(v) else int(v)  # type: ignore[arg-type]


@cache
def all_tiers() -> tuple[Tier, ...]:
    t = pd.read_csv(paths.DATA_DIR / "tiers.csv")
    return tuple(
        Tier(
            name=r.tier,
            price_usd_month=float(r.price_usd_month),
            forecasts_per_month=_opt_int(r.forecasts_per_month),
            max_cities=_opt_int(r.max_cities),
            report_depth=r.report_depth,
            api_access=bool(r.api_access),
            white_label=bool(r.white_label),
            priority_support=bool(r.priority_support),
            marketplace_integrations=_opt_int(r.marketplace_integrations),
            api_requests_per_minute=int(r.api_requests_per_minute),
        )
        for r in t.itertuples(index=False)
    )


def get_tier(name: str) -> Tier:
    for t in all_tiers():
        if t.name == str(name).lower():
            return t
    raise LimitError(f"unknown tier {name!r}; use one of {', '.join(t.name for t in all_tiers())}")


def check_cities(tier: Tier, requested: int | None) -> int | None:
    """The number of cities a result may hold; refuse a request above the tier's limit.

    ``requested`` None means "as many as allowed".
    """
    if tier.max_cities is None:
        return requested
    if requested is None:
        return tier.max_cities
    if requested > tier.max_cities:
        raise LimitError(
            f"the {tier.label} plan shows the top {tier.max_cities} cities; {requested} were asked for. "
            "Upgrade on the Account page for more."
        )
    return requested


def check_depth(tier: Tier, depth: str) -> str:
    """Refuse a report deeper than the tier allows (summary < detailed < full)."""
    if depth not in DEPTHS:
        raise LimitError(f"unknown report depth {depth!r}; use one of {', '.join(DEPTHS)}")
    if DEPTHS.index(depth) > DEPTHS.index(tier.report_depth):
        raise LimitError(
            f"the {tier.label} plan includes {tier.report_depth} reports, not {depth}; upgrade for more detail"
        )
    return depth
