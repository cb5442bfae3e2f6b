"""Sales Strategy: marketplace per top country with fee-adjusted margins, and the playbook."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.common import request_product, run_agent
from agents.context import AgentContext
from agents.schemas import ChannelLine, SalesNarrative, SalesStrategyResult
from agents.state import AgentState
from core.advisors import sales, supply

NAME = "sales_strategy"


def analyse(state: AgentState, ctx: AgentContext) -> tuple[dict, dict]:
    product = request_product(state)
    cat = product.category_row()
    ads = state["results"].get("advertising_planner", {})
    notices = []
    if "error" in ads or ads.get("cac_usd") is None:
        cac = 0.0
        notices.append(
            "The Advertising Planner has no acquisition cost for this run: own-shop margins below "
            "exclude paid acquisition."
        )
    else:
        cac = float(ads["cac_usd"])
    chosen = ctx.city_set(product, state["request"])
    top = chosen.drop_duplicates("country_iso2").head(5)
    lines = []
    for _, r in top.iterrows():
        lc = supply.landed_cost(cat.id, product.unit_cost, product.price, r)  # the ranking's own costs
        duty_rate = lc["duty_usd"] / product.price
        text = f"{product.name} {product.description}"
        margins = sales.channel_margins(
            str(r.country_iso2),
            product.price,
            product.unit_cost,
            lc["freight_usd"],
            duty_rate,
            cac,
            category_id=cat.id,
            text=text,
        )
        if left_out := sales.excluded_channels(str(r.country_iso2), cat.id, text):
            notices.append(
                f"{r.country_iso2}: not offered, as the marketplace does not list this product: "
                + "; ".join(left_out)
                + "."
            )
        best = sales.recommend_channel(margins)
        lines += [
            ChannelLine(
                country_iso2=str(r.country_iso2),
                city=str(r.city),
                channel=m.channel,
                landed_cost_usd=m.landed_cost_usd,
                fees_usd=m.fees_usd,
                acquisition_usd=m.acquisition_usd,
                unit_margin_usd=m.unit_margin_usd,
                margin_rate=m.margin_rate,
                break_even_price_usd=m.break_even_price_usd,
                max_unit_cost_usd=m.max_unit_cost_usd,
                max_cac_usd=m.max_cac_usd,
                recommended=m.channel == best,
            )
            for m in margins.itertuples()
        ]
    fields = {"city_set": len(chosen), "channels": lines, "notices": notices}
    facts = {
        "name": product.name,
        "category": cat.name,
        "price": product.price,
        "cac": cac,
        "buying": sales.buying_facts(cat.id),
        "city_set": len(chosen),
        "channels": [x.model_dump() for x in lines],
        "delivery_days": {str(r.country_iso2): float(r.delivery_days) for _, r in top.iterrows()},
    }
    return fields, facts


def node(state: AgentState, runtime: Runtime[AgentContext]) -> dict:
    return run_agent(NAME, state, runtime, analyse, SalesNarrative, SalesStrategyResult)
