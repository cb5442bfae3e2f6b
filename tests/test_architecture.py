"""Import rules that keep the layers honest (DESIGN §2, issue 22).

The import graph is read from the code: every ``import`` and ``from ... import`` in every module of the
project's packages, nested (function-level) imports included, resolved to the project's own modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

from core import paths

PACKAGES = ("core", "agents", "api", "views", "connectors")
# The engine and the analytic cores: pure domain code, no adapters (database, payments, LLM, UI).
PURE_DOMAIN_PACKAGES = ("core/forecast", "core/calibration", "core/advisors", "core/render")
PURE_DOMAIN_MODULES = (
    "core/places/geo.py",
    "core/places/names.py",
    "core/places/explore.py",
    "core/text.py",
    "core/errors.py",
    "core/accounts/tiers.py",
)
FORBIDDEN_IN_PURE = {"streamlit", "sqlalchemy", "stripe", "openai", "alembic", "psycopg", "langgraph"}
# Which top-level package may import which (DESIGN §2: views, api -> agents -> core -> nothing above it;
# connectors import nothing of ours).
ALLOWED_PACKAGE_DEPS = {
    "views": {"views", "agents", "core", "connectors"},
    "api": {"api", "agents", "core", "connectors"},
    "agents": {"agents", "core"},
    "core": {"core", "connectors"},
    "connectors": {"connectors"},
}
# Inside core: the rooms and the rooms each may reach (the shared kernel -- errors, settings, paths, logs,
# text, formatting -- is open to all). cli -> services -> engine, accounts, billing -> db.
KERNEL = {"errors", "settings", "paths", "logs", "text", "formatting", "telemetry", "__init__", "__main__"}
# What the use cases may call: the engine rooms, accounts, billing, the job queue and the data layer.
SERVICE_DEPS = {
    "forecast",
    "calibration",
    "advisors",
    "places",
    "render",
    "accounts",
    "billing",
    "jobs",
    "db",
}
ALLOWED_ROOM_DEPS = {
    "cli": {"services", *SERVICE_DEPS},
    "services": SERVICE_DEPS,
    "billing": {"accounts", "render", "forecast", "db"},
    "accounts": {"render", "db"},
    "render": {"forecast", "advisors", "places", "calibration"},
    "advisors": {"forecast", "places"},
    "calibration": {"forecast", "places"},
    "forecast": {"places"},
    "places": {"forecast", "db", "accounts"},
    "jobs": set(),  # the durable queue's client: submits and reads jobs, runs none (agents.worker does)
    "db": set(),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(paths.ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (paths.ROOT / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            out[module_name(path)] = path
    return out


def _resolve(name: str, modules: dict[str, str] | Iterable[str]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in modules:
            return cand
    return None


def import_statements(path: Path, own_name: str) -> list[list[str]]:
    """Each import statement of a module (nested ones too) as the dotted names it may bind: ``import a.b``
    gives ``[a.b]``; ``from a import b, c`` gives ``[a.b, a]`` and ``[a.c, a]`` (``a.b`` when that is a
    module, else the name ``b`` defined in ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[list[str]] = []
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [[a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out += [[f"{module}.{a.name}", module] for a in node.names]
    return out


def imported_names(path: Path, own_name: str) -> set[str]:
    return {n for names in import_statements(path, own_name) for n in names}


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports: for ``from a import b`` the module ``a.b`` when it is one,
    else ``a`` (importing a submodule runs its package's ``__init__`` too, but depends on the submodule)."""
    mods = project_modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in mods.items():
        targets = set()
        for names in import_statements(path, name):
            hit = next((n for n in names if n in mods), None) or _resolve(names[-1], mods)
            if hit and hit != name:
                targets.add(hit)
        graph[name] = frozenset(targets)
    return graph


def third_party_imports(path: Path) -> set[str]:
    return {n.split(".")[0] for n in imported_names(path, module_name(path))}


def find_cycles(graph: dict[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each one a cycle to break.
    A package's ``__init__`` that re-exports a submodule is an edge like any other: a submodule that
    imports its own package back closes a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2:
        return None
    return None if parts[1] in KERNEL else parts[1]


def test_cycle_finder_finds_a_planted_cycle() -> None:
    """The checker itself can fail: a two-module loop and a three-module loop are reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert find_cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_no_import_cycles() -> None:
    assert find_cycles(import_graph()) == []


def test_packages_depend_one_way() -> None:
    bad = [
        (m, t)
        for m, ts in import_graph().items()
        for t in ts
        if t.split(".")[0] not in ALLOWED_PACKAGE_DEPS[m.split(".")[0]]
    ]
    assert bad == []


def test_core_rooms_depend_one_way() -> None:
    bad = []
    for m, ts in import_graph().items():
        src = room(m)
        if src is None:
            continue
        for t in ts:
            dst = room(t)
            if dst is not None and dst != src and dst not in ALLOWED_ROOM_DEPS[src]:
                bad.append((m, t))
    assert bad == []


def test_every_core_room_is_known() -> None:
    rooms = {room(m) for m in import_graph()} - {None}
    assert rooms == set(ALLOWED_ROOM_DEPS)


def test_views_and_api_reach_the_database_only_through_services() -> None:
    """No view or API module imports the data layer (core.db) or SQLAlchemy: they call use cases."""
    bad = []
    for m, ts in import_graph().items():
        if m.split(".")[0] in ("views", "api"):
            bad += [(m, t) for t in ts if t == "core.db" or t.startswith("core.db.")]
            bad += [(m, "sqlalchemy")] if "sqlalchemy" in third_party_imports(project_modules()[m]) else []
    assert bad == []


def test_core_never_imports_streamlit() -> None:
    for path in (paths.ROOT / "core").rglob("*.py"):
        assert "streamlit" not in third_party_imports(path), path


def _pure_files() -> list[Path]:
    files = [p for d in PURE_DOMAIN_PACKAGES for p in (paths.ROOT / d).rglob("*.py")]
    return files + [paths.ROOT / f for f in PURE_DOMAIN_MODULES]


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_pure_domain_modules_import_no_adapters(path: Path) -> None:
    bad = third_party_imports(path) & FORBIDDEN_IN_PURE
    assert not bad, f"{path} imports {bad}"


def test_pages_run_no_sql_and_no_sdk() -> None:
    for path in (paths.ROOT / "views").rglob("*.py"):
        bad = third_party_imports(path) & {"sqlalchemy", "stripe", "openai", "psycopg"}
        assert not bad, f"{path.name} imports {bad}"


def test_agents_import_no_ui_or_sdk_except_the_writer() -> None:
    for path in (paths.ROOT / "agents").glob("*.py"):
        names = third_party_imports(path)
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


def test_every_core_package_says_what_lives_there() -> None:
    for init in (paths.ROOT / "core").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init} needs a docstring: what lives here, what it may import"


MAX_FUNCTION_LINES = 70  # issue 22: "no function over ~60" (counted as formatted, docstring included)
MAX_MODULE_LINES = 450  # issue 22: "no module over ~400"


def _code_files() -> list[Path]:
    files = [paths.ROOT / "app.py"]
    for package in PACKAGES:
        files += [p for p in (paths.ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return files


def test_no_function_or_module_is_too_long() -> None:
    """A long function or module fails here with its name and length (generated migrations aside)."""
    long_functions, long_modules = [], []
    for path in _code_files():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append((str(path.relative_to(paths.ROOT)), len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((f"{path.relative_to(paths.ROOT)}:{node.name}", length))
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines: {long_modules}"


def test_the_code_is_formatted_and_lint_clean() -> None:
    """ruff format and ruff check (pyproject.toml) agree with the code: no `# fmt: skip` escapes."""
    import subprocess
    import sys

    ruff = Path(sys.executable).with_name("ruff")
    fmt = subprocess.run([ruff, "format", "--check", "."], cwd=paths.ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run([ruff, "check", "."], cwd=paths.ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    skips = [str(p) for p in _code_files() if "fmt: skip" in p.read_text(encoding="utf-8")]
    assert not skips, f"# fmt: skip in {skips}"
