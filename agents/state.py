"""The graph's typed state. Parallel branches write disjoint keys of ``results``; reducers merge."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict


def merge(left: dict, right: dict) -> dict:
    """Compose agent results: a new agent's result is added, never overwriting another's."""
    return {**left, **right}


class AgentState(TypedDict, total=False):
    request: dict  # product, countries, budget, depth (JSON-serialisable)
    results: Annotated[dict[str, dict], merge]
    notices: Annotated[list[str], operator.add]
