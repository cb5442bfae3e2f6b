"""Running the graph: a fresh thread id per run, a checkpointer on the app's database, streamed
updates for the UI, and agent_logs persisted per forecast."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from agents.context import AgentContext
from agents.graph import AGENTS, build_graph
from core import telemetry
from core.db import repo
from core.db.database import Database


@contextmanager
def checkpointer(db: Database | None) -> Iterator[object | None]:
    """LangGraph's SQLite or Postgres saver on the app's database (None without a database)."""
    if db is None:
        yield None
        return
    url = db.engine.url
    if db.dialect == "sqlite":
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(url.database or ":memory:", check_same_thread=False)
        try:
            yield SqliteSaver(conn)
        finally:
            conn.close()
    else:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
            saver = PostgresSaver(conn)
            saver.setup()
            yield saver


def run_agents(
    ctx: AgentContext,
    request: dict,
    *,
    db: Database | None = None,
    forecast_id: str | None = None,
    on_update: Callable[[str, dict], None] | None = None,
) -> dict[str, dict]:
    """Run the five agents; return {agent: result}. Each agent's result is reported as it lands."""
    results: dict[str, dict] = {}
    with (
        telemetry.span("agents.run", agents=len(AGENTS), depth=str(request.get("depth", "full"))),
        checkpointer(db) as saver,
    ):
        graph = build_graph(saver)
        config = {"configurable": {"thread_id": f"run-{uuid.uuid4()}"}}  # reducers accumulate per thread
        init = {"request": request, "results": {}, "notices": []}
        for update in graph.stream(init, config, context=ctx, stream_mode="updates"):
            for agent, out in update.items():
                if not out or agent not in AGENTS:
                    continue
                results.update(out["results"])
                telemetry.AGENT_RUNS.labels(
                    agent=agent, writer=str(out["results"][agent].get("writer", "none"))
                ).inc()
                if on_update:
                    on_update(agent, out["results"][agent])
    if db is not None and forecast_id is not None:
        repo.save_agent_logs(db, forecast_id, request, results)
    # The graph order, whichever parallel branch finished first (stable JSON for the CLI and the logs).
    return {a: results[a] for a in AGENTS if a in results}
