"""What the agents depend on, passed in through LangGraph's runtime context (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from agents.writers import TemplateWriter, Writer
from core.forecast import CityArrays, Evaluation, ProductInput, evaluate, prepare, rank

AGENT_CITIES = 20  # the run's one city set: the ranking's top 20, or fewer where the plan shows fewer


def city_count(request: dict) -> int:
    """How many of the ranking's top cities every agent of a run works on: the plan's number of cities
    (``request["cities"]``, None for an unlimited plan), at most ``AGENT_CITIES``. One set per run, so the
    Product Analyst's units, the Advertising Planner's targets and Supply's volumes are the same cities."""
    plan = request.get("cities")
    return max(1, min(int(plan), AGENT_CITIES)) if plan else AGENT_CITIES


@dataclass
class AgentContext:
    cities: CityArrays
    writer: Writer = field(default_factory=TemplateWriter)
    _cache: dict = field(default_factory=dict)

    def evaluation(self, product: ProductInput) -> Evaluation:
        """The forecast for the product (computed once per run and shared by the agents)."""
        key = product.model_dump_json()
        if key not in self._cache:
            self._cache.clear()
            self._cache[key] = evaluate(prepare(self.cities, product))
        return self._cache[key]

    def ranking(self, product: ProductInput, countries: list[str] | None, top: int) -> pd.DataFrame:
        return rank(self.evaluation(product), countries=countries, top=top)

    def city_set(self, product: ProductInput, request: dict) -> pd.DataFrame:
        """The run's city set (``city_count``): the ranking's top cities in the request's scope."""
        return self.ranking(product, request.get("countries"), city_count(request))
