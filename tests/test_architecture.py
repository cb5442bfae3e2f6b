"""Import rules that keep the layers honest (DESIGN §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core import paths

PURE_DOMAIN = [
    "categories.py", "forecast.py", "features.py", "explore.py", "geo.py", "text.py", "errors.py", "budget.py",
    "supply.py", "sales.py", "product_analysis.py", "calibration.py", "tiers.py", "whatif.py", "charts.py", "exports.py",
]  # fmt: skip
FORBIDDEN_IN_PURE = {"streamlit", "sqlalchemy", "stripe", "openai", "alembic", "psycopg", "langgraph"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit() -> None:
    for path in (paths.ROOT / "core").rglob("*.py"):
        assert "streamlit" not in imports_of(path), path


@pytest.mark.parametrize("name", PURE_DOMAIN)
def test_pure_domain_modules_import_no_adapters(name: str) -> None:
    bad = imports_of(paths.ROOT / "core" / name) & FORBIDDEN_IN_PURE
    assert not bad, f"core/{name} imports {bad}"


def test_pages_run_no_sql_and_no_sdk() -> None:
    for path in (paths.ROOT / "views").glob("*.py"):
        bad = imports_of(path) & {"sqlalchemy", "stripe", "openai", "psycopg"}
        assert not bad, f"{path.name} imports {bad}"


def test_agents_import_no_ui_or_sdk_except_the_writer() -> None:
    for path in (paths.ROOT / "agents").glob("*.py"):
        names = imports_of(path)
        assert "streamlit" not in names, path
        if path.name != "writers.py":
            assert "openai" not in names, f"{path.name}: only agents/writers.py talks to the LLM"


def test_views_do_no_index_lookups_on_the_engines_arrays() -> None:
    """Pages ask core for positions (core.forecast.positions) instead of searching the engine's arrays."""
    for path in (paths.ROOT / "views").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "searchsorted" not in text and ".city_id[" not in text, path


def test_results_page_has_one_module_per_view() -> None:
    names = {p.stem for p in (paths.ROOT / "views" / "results_views").glob("*_view.py")}
    assert names == {"map_view", "ranking_view", "why_view", "charts_view", "agents_view", "export_view"}
