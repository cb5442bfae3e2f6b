"""Market & City Profiler: the engine's ranking plus a profile of the top cities."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import CityProfile, MarketNarrative, MarketProfilerResult
from agents.state import AgentState
from core.forecast import city_info

NAME = "market_profiler"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    top = ctx.city_set(product, state["request"])
    info = city_info(ctx.cities, top["city_id"], extra=("purchasing_power_index", "online_buyers_pct"))
    cities = [
        CityProfile(
            rank=int(r.rank),
            city=str(r.city),
            country_iso2=str(r.country_iso2),
            opportunity_score=float(r.opportunity_score),
            demand_score=float(r.demand_score),
            competition_index=float(r.competition_index),
            demographic_match=100 * float(r.age_fit),
            purchasing_power_index=float(ppi),
            online_buyers_pct=float(ob),
            expected_units_month=float(r.expected_units_month),
        )
        for r, ppi, ob in zip(
            top.itertuples(), info["purchasing_power_index"], info["online_buyers_pct"], strict=True
        )
    ]
    fields = {"cities": cities, "city_set": len(cities)}
    return fields, {"cities": [c.model_dump() for c in cities], "city_set": len(cities)}


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, MarketNarrative, MarketProfilerResult)
