"""Shared helpers of the agent nodes: timing, writing, result packing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.context import AgentContext
from agents.state import AgentState
from core.errors import AppError
from core.forecast import ProductInput
from core.logs import redact

log = logging.getLogger(__name__)


def request_product(state: AgentState) -> ProductInput:
    return ProductInput(**state["request"]["product"])


def run_agent(
    name: str,
    state: AgentState,
    runtime: Runtime[AgentContext],
    analyse: Callable[[AgentState, AgentContext], tuple[dict, dict]],
    narrative_schema: type[BaseModel],
    result_model: type[BaseModel],
) -> dict:
    """Analyse (numbers), write (text), pack into the agent's Pydantic result; time it.

    ``analyse`` returns (fields of the result, facts for the writer).
    """
    t0 = time.perf_counter()
    ctx = runtime.context
    depth = state["request"].get("depth", "full")
    try:
        fields, facts = analyse(state, ctx)
        # every writer knows who pays shipping: it decides which shipping claims the text may make
        facts = facts | {"shipping_paid_by": request_product(state).shipping_paid_by}
    except Exception as exc:
        # A domain error's message is meant for users; anything else is logged, not shown.
        if isinstance(exc, AppError):
            reason = redact(str(exc))
            log.warning("agent %s refused: %s", name, reason)
        else:
            reason = f"internal error ({type(exc).__name__})"
            log.exception("agent %s failed", name)
        notice = f"{name} could not complete: {reason}"
        failed = {
            "error": reason,
            "writer": "none",
            "tokens_used": 0,
            "notices": [notice],
            "duration_ms": (time.perf_counter() - t0) * 1000,
        }
        return {"results": {name: failed}, "notices": [notice]}
    written = ctx.writer.write(name, facts, narrative_schema, depth)
    notices = list(fields.pop("notices", [])) + written.notices  # the analysis' own caveats first
    for notice in notices:
        log.info("agent %s notice: %s", name, notice)
    result = result_model(
        **fields,
        narrative=written.output,
        writer=written.writer,
        tokens_used=written.tokens,
        notices=notices,
        duration_ms=(time.perf_counter() - t0) * 1000,
    )
    return {"results": {name: result.model_dump(mode="json")}, "notices": notices}
