"""What the agents depend on, passed in through LangGraph's runtime context (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from agents.writers import TemplateWriter, Writer
from core.forecast import CityArrays, Evaluation, ProductInput, evaluate, prepare, rank

DEPTH_CITIES = {"summary": 5, "detailed": 10, "full": 20}  # cities profiled per report depth


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
