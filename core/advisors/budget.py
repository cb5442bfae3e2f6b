"""Advertising Planner math: saturating response curves per platform and the optimal budget split.

Each platform's monthly conversions follow a Hill curve with shape 1 (Michaelis-Menten),
``C(s) = C_max s / (K + s)``: concave, so the optimum equalises marginal returns and is unique.
The curve is seeded from published benchmarks: at small spend one conversion costs
``CPA0 = CPC / CVR`` (so ``K = C_max x CPA0``), with CPC scaled to the target markets' price level.
``C_max`` is the platform's share of a ceiling of paid orders: ``PAID_CEILING_RATIO`` x the orders the
forecast expects in the targeted cities without ads (the seller's own in-market demand there).
docs/methodology.md ("Advertising") documents every parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.errors import InputError

TIKTOK_CPM_USD = 9.0  # midpoint of the 6-12 USD e-commerce CPM range (data/raw/ad_benchmarks_facts.csv)
# Ceiling of paid orders, as a multiple of the forecast's own (unpaid) orders in the targets: ads can at
# most double the seller's orders there. An assumption (docs/methodology.md, section 13), not fitted.
PAID_CEILING_RATIO = 1.0
DEFAULT_BOUNDS = (0.0, 0.7)  # each platform gets 0-70 % of the budget unless the user says otherwise


@dataclass(frozen=True)
class Platform:
    name: str
    label: str
    cpc_usd_us: float
    ctr: float
    cvr: float
    reach_share: float


@cache
def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(paths.DATA_DIR / "ad_platforms.csv").set_index("platform"),
        pd.read_csv(paths.DATA_DIR / "ad_category_cpc.csv").set_index("category_id"),
    )


def platforms(category_id: int) -> list[Platform]:
    """The three platforms with US benchmark CPC, CTR and purchase CVR for the category."""
    table, cpc = _tables()
    out = []
    for name, r in table.iterrows():
        ctr = float(r["ctr_pct"]) / 100
        if name == "google_search":
            us_cpc = float(cpc.loc[category_id, "cpc_usd"]) if category_id in cpc.index else 3.53
        elif name == "tiktok":
            us_cpc = TIKTOK_CPM_USD / (1000 * ctr)
        else:
            us_cpc = float(r["cpc_usd_us"])
        out.append(
            Platform(
                str(name),
                str(r["label"]),
                us_cpc,
                ctr,
                float(r["purchase_cvr_pct"]) / 100,
                float(r["reach_share"]),
            )
        )
    return out


@dataclass(frozen=True)
class Curve:
    platform: Platform
    cpa0: float  # cost of a conversion at small spend, local cost level
    c_max: float  # conversions per month at saturation
    k: float  # spend at half saturation

    def conversions(self, spend: np.ndarray | float) -> np.ndarray:
        s = np.asarray(spend, float)
        return self.c_max * s / (self.k + s)

    def marginal(self, spend: np.ndarray | float) -> np.ndarray:
        s = np.asarray(spend, float)
        return self.c_max * self.k / (self.k + s) ** 2


def curves(category_id: int, price_level: float, forecast_units_month: float) -> list[Curve]:
    """Response curves for the targeted cities.

    ``price_level``: demand-weighted PPP/FX price level of the targets (USA = 1) -- ad auction prices
    are scaled by it. ``forecast_units_month``: the forecast's expected units a month in the targets
    (the engine's ``expected_units_month``), so price, delivery time and scope act here as in the ranking.
    """
    if price_level <= 0 or forecast_units_month <= 0:
        raise InputError("the targeted cities have no market to advertise to")
    ceiling = PAID_CEILING_RATIO * forecast_units_month
    out = []
    for p in platforms(category_id):
        cpa0 = p.cpc_usd_us * price_level / p.cvr
        c_max = p.reach_share * ceiling
        out.append(Curve(p, cpa0, c_max, c_max * cpa0))
    return out


def curves_from_params(params: list[dict]) -> list[Curve]:
    """Rebuild curves stored by the Advertising Planner (platform, label, cpa0, c_max, k)."""
    return [
        Curve(Platform(p["platform"], p["label"], 0.0, 0.0, 0.0, 0.0), p["cpa0"], p["c_max"], p["k"])
        for p in params
    ]


def optimise(
    cs: list[Curve], budget: float, bounds: dict[str, tuple[float, float]] | None = None
) -> dict[str, float]:
    """Split ``budget`` to maximise conversions, within per-platform bounds (shares of budget).

    Marginal returns are equalised by bisection on the multiplier: each platform spends
    ``sqrt(C_max K / lambda) - K``, clipped to its bounds.
    """
    if budget < 0:
        raise InputError("the ad budget cannot be negative", field="budget")
    b = {c.platform.name: (bounds or {}).get(c.platform.name, DEFAULT_BOUNDS) for c in cs}
    lo = np.array([b[c.platform.name][0] for c in cs]) * budget
    hi = np.array([b[c.platform.name][1] for c in cs]) * budget
    if lo.sum() > budget + 1e-9 or hi.sum() < budget - 1e-9:
        raise InputError("the platform bounds cannot add up to the budget; widen them", field="bounds")
    if budget == 0:
        return {c.platform.name: 0.0 for c in cs}
    cm = np.array([c.c_max for c in cs])
    k = np.array([c.k for c in cs])

    def spend(lam: float) -> np.ndarray:
        return np.clip(np.sqrt(cm * k / lam) - k, lo, hi)

    lam_lo, lam_hi = 1e-18, float(np.max(cm / k)) * 1.01  # at lam_hi every platform wants 0
    for _ in range(200):
        mid = np.sqrt(lam_lo * lam_hi)
        if spend(mid).sum() > budget:
            lam_lo = mid
        else:
            lam_hi = mid
    s = spend(np.sqrt(lam_lo * lam_hi))
    s *= budget / s.sum() if s.sum() > 0 else 0.0  # remove the bisection's last rounding
    return {c.platform.name: float(v) for c, v in zip(cs, np.clip(s, lo, hi), strict=True)}


@dataclass(frozen=True)
class BudgetPlan:
    table: pd.DataFrame  # one row per platform and split (current / optimised)
    totals: pd.DataFrame  # one row per split
    break_even_roas: float
    curves: list[Curve]
    optimal: dict[str, float]
    current: dict[str, float]


def plan(
    cs: list[Curve],
    budget: float,
    price: float,
    unit_margin: float,
    current: dict[str, float] | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
) -> BudgetPlan:
    """Current vs optimised split: spend, conversions, CAC, revenue and ROAS per platform.

    ``current`` defaults to an equal split. Break-even ROAS = price / unit margin before ads.
    """
    if budget <= 0:
        raise InputError("set a monthly ad budget above zero", field="budget")
    current = current or {c.platform.name: budget / len(cs) for c in cs}
    optimal = optimise(cs, budget, bounds)
    rows = []
    for split, alloc in (("current", current), ("optimised", optimal)):
        for c in cs:
            s = alloc[c.platform.name]
            conv = float(c.conversions(s))
            rows.append(
                {
                    "split": split,
                    "platform": c.platform.label,
                    "spend_usd": s,
                    "conversions": conv,
                    "cac_usd": s / conv if conv > 0 else np.nan,
                    "revenue_usd": conv * price,
                    "roas": conv * price / s if s > 0 else np.nan,
                }
            )
    table = pd.DataFrame(rows)
    totals = (
        table.groupby("split", sort=False)[["spend_usd", "conversions", "revenue_usd"]].sum().reset_index()
    )
    totals["cac_usd"] = totals["spend_usd"] / totals["conversions"]
    totals["roas"] = totals["revenue_usd"] / totals["spend_usd"]
    be = price / unit_margin if unit_margin > 0 else float("inf")
    return BudgetPlan(table, totals, be, cs, optimal, current)
