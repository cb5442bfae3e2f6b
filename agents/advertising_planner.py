"""Advertising Planner: response curves, optimal budget split, CAC/ROAS, targeting, ad copy."""

from __future__ import annotations

import re

import numpy as np
from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import AdNarrative, AdvertisingPlannerResult, CurveParams, PlatformLine
from agents.state import AgentState
from core.advisors import budget as bm
from core.errors import InputError
from core.forecast import positions, season
from core.forecast.categories import AGE_BANDS, AGE_LABELS

NAME = "advertising_planner"
DEFAULT_BUDGET_SHARE = 0.10  # without a budget: 10 % of the top cities' expected monthly revenue


def targets(state: AgentState, ctx: AgentContext):
    product = request_product(state)
    top = ctx.city_set(product, state["request"])
    idx = positions(ctx.cities, top["city_id"])
    # The ranking's expected units in the targets (so delivery time, price and scope act here exactly
    # as in the ranking) set the ceiling of paid orders.
    units = top["expected_units_month"].to_numpy(float)
    level = float(np.average(ctx.cities.price_level[idx], weights=np.maximum(units, 1e-12)))
    return top, float(units.sum()), level


MAX_INTERESTS = 8


def interests(product) -> list[str]:
    """Targeting interests from what the product is, not the whole category: its taxonomy type (the
    understanding's leaf, e.g. "Towels"), the category words its name or description uses, and the type's
    parent; the category's name only when nothing more specific is known."""
    words = set(re.findall(r"[a-z]+", f"{product.name} {product.description}".lower()))
    out: list[str] = []
    path = product.understanding().product_type
    if path:
        parts = [p.strip() for p in path.split(">")]
        out += [parts[-1]] + ([parts[-2]] if len(parts) > 2 else [])
    out += [k for k in product.category_row().keywords if k in words or f"{k}s" in words]
    out = out or [product.category]
    return list(dict.fromkeys(out))[:MAX_INTERESTS]


def _budget(requested: float | None, top) -> float:
    """The monthly budget asked for, or DEFAULT_BUDGET_SHARE of the cities' expected revenue (at least $10)."""
    if requested is not None and requested <= 0:
        raise InputError("the monthly ad budget must be above zero")
    return requested or max(
        10.0, round(DEFAULT_BUDGET_SHARE * float(top["expected_revenue_usd_month"].sum()), -1)
    )


def _timing(ctx: AgentContext, product, top) -> list[dict]:
    """Each city's best months and when to start its ads (a month before its season)."""
    profiles = ctx.evaluation(product).prepared.seasonal_profile[positions(ctx.cities, top["city_id"])]
    return [
        {"city": str(c), "best_months": best, "start_ads": start}
        for c, (best, start) in zip(top["city"], season.ad_windows(profiles), strict=True)
    ]


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    top, units, level = targets(state, ctx)
    budget = _budget(state["request"].get("budget"), top)
    margin = float(np.average(top["unit_margin_usd"], weights=np.maximum(top["expected_units_month"], 1e-12)))
    cs = bm.curves(product.category_row().id, level, units)
    p = bm.plan(cs, budget, product.price, margin)
    opt = p.totals.set_index("split").loc["optimised"]
    split = [
        PlatformLine(**{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()})
        for row in p.table.to_dict("records")
    ]
    ages = [AGE_LABELS[a] for a in (product.target_ages or AGE_BANDS[:4])]
    targeting = {
        "ages": ages,
        "cities": [f"{c} ({i})" for c, i in zip(top["city"], top["country_iso2"], strict=True)],
        "interests": interests(product),
    }
    timing = _timing(ctx, product, top)
    fields = {
        "city_set": len(top),
        "timing": timing,
        "budget_usd_month": budget,
        "price_level": level,
        "forecast_units_month": units,
        "unit_margin_usd": margin,
        "curves": [
            CurveParams(platform=c.platform.name, label=c.platform.label, cpa0=c.cpa0, c_max=c.c_max, k=c.k)
            for c in cs
        ],
        "split": split,
        "break_even_roas": p.break_even_roas,
        "expected_conversions": float(opt["conversions"]),
        "cac_usd": float(opt["cac_usd"]),
        "roas": float(opt["roas"]),
        "targeting": targeting,
    }
    facts = {
        "name": product.name,
        "category": product.category,
        "budget": budget,
        "conversions": float(opt["conversions"]),
        "cac": float(opt["cac_usd"]),
        "roas": float(opt["roas"]),
        "break_even_roas": p.break_even_roas,
        "optimised": p.table[p.table["split"] == "optimised"].to_dict("records"),
        "audience": "adults aged " + ", ".join(ages),
        "top_city": str(top.iloc[0]["city"]),
        "price": product.price,
        "forecast_units": float(top["expected_units_month"].sum()),
        "delivery_days": float(top["delivery_days"].iloc[0]),
        "paid_ceiling": float(sum(c.c_max for c in cs)),
        "timing": timing,
        "city_set": len(top),
        "max_platform_share": bm.DEFAULT_BOUNDS[1],
        "cac_at_double": float(
            bm.plan(cs, 2 * budget, product.price, margin)
            .totals.set_index("split")
            .loc["optimised", "cac_usd"]
        ),
    }
    return fields, facts


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, AdNarrative, AdvertisingPlannerResult)
