"""Sales Strategy: marketplace per top country with fee-adjusted margins, and the playbook."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import ChannelLine, SalesNarrative, SalesStrategyResult
from agents.state import AgentState
from core import sales

NAME = "sales_strategy"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    # Either upstream agent may have failed: fall back to the forecast's own costs.
    ads = state["results"].get("advertising_planner", {})
    supply = {x["country_iso2"]: x for x in state["results"].get("supply_chain_advisor", {}).get("landed_costs", [])}
    cac = float(ads.get("cac_usd") or 0.0)
    top = ctx.ranking(product, state["request"].get("countries"), 50).drop_duplicates("country_iso2").head(5)
    lines = []
    for r in top.itertuples():
        landed = supply.get(r.country_iso2, {}).get("landed_cost_usd", product.unit_cost + float(r.shipping_cost_usd))
        margins = sales.channel_margins(str(r.country_iso2), product.price, float(landed), cac)
        best = sales.recommend_channel(margins)
        lines += [ChannelLine(country_iso2=str(r.country_iso2), channel=m.channel, fees_usd=m.fees_usd,
                              acquisition_usd=m.acquisition_usd, unit_margin_usd=m.unit_margin_usd,
                              margin_rate=m.margin_rate, recommended=m.channel == best)
                  for m in margins.itertuples()]  # fmt: skip
    fields = {"channels": lines}
    return fields, {"name": product.name, "channels": [x.model_dump() for x in lines]}


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, SalesNarrative, SalesStrategyResult)
