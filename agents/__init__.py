"""The five agents as a LangGraph state machine (see graph.py for the wiring)."""
