"""Supply Chain & FASON Advisor: method, sourcing, landed cost, lead times, AQL plan, warehouse."""

from __future__ import annotations

import math

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import LandedCostLine, SupplyChainResult, SupplyNarrative
from agents.state import AgentState
from core.advisors import supply
from core.forecast import resolve_origin

NAME = "supply_chain_advisor"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    cat = product.category_row()
    top = ctx.city_set(product, state["request"])
    monthly = float(top["expected_units_month"].sum())
    method = supply.choose_method(cat.id, monthly, product.unit_cost)
    regions = supply.sourcing_regions(cat.id)
    origin = resolve_origin(product.ships_from, ctx.cities)
    # The same fulfilment as the ranking: the ships-from city, or each country served from its own hub.
    origin_label = origin.label if origin else "each market's own country hub (domestic fulfilment)"
    markets = top.drop_duplicates("country_iso2").head(5)
    lines = []
    for _, r in markets.iterrows():
        lc = supply.landed_cost(cat.id, product.unit_cost, product.price, r)
        lead = supply.lead_time_days(cat.id, monthly, lc["transit_days"])
        lines.append(
            LandedCostLine(
                market=str(r.city),
                country_iso2=str(r.country_iso2),
                mode=lc["mode"],
                distance_km=lc["distance_km"],
                materials_usd=lc["materials_usd"],
                labour_usd=lc["labour_usd"],
                overhead_usd=lc["overhead_usd"],
                freight_usd=lc["freight_usd"],
                buyer_freight_usd=lc["buyer_freight_usd"],
                duty_usd=lc["duty_usd"],
                import_vat_usd=lc["import_vat_usd"],
                landed_cost_usd=lc["landed_cost_usd"],
                transit_days=lc["transit_days"],
                total_lead_days=lead["total_days"],
            )
        )
    aql = supply.aql_plan(max(2, math.ceil(monthly)))
    candidates = top[["city", "country_iso2", "lat", "lon"]]
    demand = top[["lat", "lon"]].assign(weight=top["expected_units_month"])
    wh = supply.best_warehouse(candidates, demand).iloc[0]
    fields = {
        "city_set": len(top),
        "method": method.method,
        "method_reasons": method.reasons,
        "sourcing_regions": regions,
        "origin": origin_label,
        "landed_costs": lines,
        "aql": aql,
        "qc_checklist": supply.qc_checklist(cat.id),
        "warehouse": f"{wh['city']} ({wh['country_iso2']})",
        "warehouse_weighted_km": float(wh["weighted_km"]),
    }
    facts = {k: v for k, v in fields.items() if k != "landed_costs"} | {
        "landed_costs": [x.model_dump() for x in lines],
        "units": monthly,
    }
    return fields, facts


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, SupplyNarrative, SupplyChainResult)
