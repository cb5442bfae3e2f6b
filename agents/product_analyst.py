"""Product Analyst: what the product is (type, climate, season, audience), category check (TF-IDF), expected
quality, market fit, complexity, demand potential."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import ProductAnalystResult, ProductNarrative, Rated
from agents.state import AgentState
from core.advisors import product_analysis as pa
from core.advisors.supply import _manufacturing
from core.forecast import season
from core.forecast.categories import AGE_LABELS

NAME = "product_analyst"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    cat = product.category_row()
    described = bool(product.description.strip())
    suggestions = pa.classify(f"{product.name} {product.description}")
    # The category check needs words to go on: without a description the chosen category stands.
    matches = not described or suggestions[0][1] == 0 or any(c.id == cat.id for c, _ in suggestions[:2])
    top = ctx.city_set(product, state["request"])
    fit = pa.market_fit(
        product.price,
        [float(x) for x in top["good_price_low_usd"]],
        [float(x) for x in top["good_price_high_usd"]],
        [str(x) for x in top["city"]],
    )
    if described and not matches:
        fit.reasons.append(f"the description reads like {suggestions[0][0].name}: check the category")
    complexity = pa.production_complexity(int(_manufacturing().loc[cat.id, "complexity_1to5"]))
    quality = pa.expected_quality(product.price, cat.typical_price_usd)
    understood = pa.understanding_report(
        product.name,
        product.description,
        product.category,
        product.climate,
        tuple(product.season_months or ()),
        product.launch_month,
    )
    units = float(top["expected_units_month"].sum())
    revenue = float(top["expected_revenue_usd_month"].sum())
    fields = {
        "city_set": len(top),
        "category": cat.name,
        "category_matches_text": matches,
        "suggested_categories": [(c.name, round(s, 3)) for c, s in suggestions],
        "quality_expected": Rated(score=quality.score, reasons=quality.reasons),
        "market_fit": Rated(score=fit.score, reasons=fit.reasons),
        "production_complexity": Rated(score=complexity.score, reasons=complexity.reasons),
        "demand_potential": units,
        "demand_revenue_usd_month": revenue,
        "understanding": understood,
    }
    position = quality.reasons[0].split(": a ")[-1].split(" position")[0]
    audience = (
        ("adults aged " + ", ".join(AGE_LABELS[a] for a in product.target_ages))
        if product.target_ages
        else "adult online shoppers"
    )
    facts = {
        "name": product.name,
        "category": cat.name,
        "described": described,
        "category_matches_text": matches,
        "suggested": suggestions[0][0].name,
        "price": product.price,
        "units": units,
        "revenue": revenue,
        "city_set": len(top),
        "market_fit": fit.score,
        "fit_reasons": fit.reasons,
        "complexity_1to5": complexity.score / 20,
        "position": position,
        "audience": audience,
        "price_ratio": product.price / cat.typical_price_usd,
        "understood": pa.understanding_sentence(understood),
        "season": season.describe(product.climate, product.season_months, product.launch_month),
    }
    return fields, facts


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, ProductNarrative, ProductAnalystResult)
