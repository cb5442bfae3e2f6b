"""The wiring: START -> product_analyst -> market_profiler -> {advertising_planner,
supply_chain_advisor} (in parallel) -> sales_strategy -> END."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents import advertising_planner, market_profiler, product_analyst, sales_strategy, supply_chain_advisor
from agents.context import AgentContext
from agents.state import AgentState

AGENTS = (
    "product_analyst",
    "market_profiler",
    "advertising_planner",
    "supply_chain_advisor",
    "sales_strategy",
)


def build_graph(checkpointer=None):
    g = StateGraph(AgentState, context_schema=AgentContext)
    g.add_node("product_analyst", product_analyst.node)
    g.add_node("market_profiler", market_profiler.node)
    g.add_node("advertising_planner", advertising_planner.node)
    g.add_node("supply_chain_advisor", supply_chain_advisor.node)
    g.add_node("sales_strategy", sales_strategy.node)
    g.add_edge(START, "product_analyst")
    g.add_edge("product_analyst", "market_profiler")
    g.add_edge("market_profiler", "advertising_planner")
    g.add_edge("market_profiler", "supply_chain_advisor")
    g.add_edge(["advertising_planner", "supply_chain_advisor"], "sales_strategy")
    g.add_edge("sales_strategy", END)
    return g.compile(checkpointer=checkpointer)
