"""Product Analyst: category check (TF-IDF), expected quality, market fit, complexity, demand potential."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import ProductAnalystResult, ProductNarrative, Rated
from agents.state import AgentState
from core import product_analysis as pa
from core.categories import AGE_LABELS
from core.supply import _manufacturing

NAME = "product_analyst"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    cat = product.category_row()
    text = f"{product.name} {product.description}"
    suggestions = pa.classify(text)
    matches = not text.strip() or suggestions[0][1] == 0 or any(c.id == cat.id for c, _ in suggestions[:2])
    top = ctx.ranking(product, state["request"].get("countries"), 10)
    demand = [float(x) for x in top["demand_score"]]
    fit = pa.market_fit(demand, matches)
    complexity = pa.production_complexity(int(_manufacturing().loc[cat.id, "complexity_1to5"]))
    quality = pa.expected_quality(product.price, cat.typical_price_usd)
    potential = float(sum(demand) / len(demand)) if demand else 0.0
    fields = {
        "category": cat.name, "category_matches_text": matches,
        "suggested_categories": [(c.name, round(s, 3)) for c, s in suggestions],
        "quality_expected": Rated(score=quality.score, reasons=quality.reasons),
        "market_fit": Rated(score=fit.score, reasons=fit.reasons),
        "production_complexity": Rated(score=complexity.score, reasons=complexity.reasons),
        "demand_potential": potential,
    }  # fmt: skip
    position = quality.reasons[0].split(": a ")[-1].replace(" position", "")
    audience = ("adults aged " + ", ".join(AGE_LABELS[a] for a in product.target_ages)) if product.target_ages else "adult online shoppers"
    facts = {"name": product.name, "category": cat.name, "category_matches_text": matches, "price": product.price,
             "demand_potential": potential, "market_fit": fit.score, "complexity": complexity.score,
             "quality": quality.score, "position": position, "audience": audience}  # fmt: skip
    return fields, facts


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, ProductNarrative, ProductAnalystResult)
