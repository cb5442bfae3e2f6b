"""A random sample of the mutants of some rooms, run with mutmut, and the kill rate with its 95 % interval.

`make mutate` runs every mutant of the modules [tool.mutmut] lists (~30 min). The engine, accounts and
billing rooms hold about 5,000 mutants (hours on 2 cores); a seeded random sample of them measures their kill
rate in a fraction of the time, with the sampling error stated (a Wilson interval):

    python bench/mutation_sample.py --rooms core/forecast core/accounts core/billing \
        --tests tests/test_forecast.py tests/test_accounts.py tests/test_billing.py --sample 200

It works on a copy of the committed tree (``git archive HEAD``) in --workdir, never on the working tree, and
writes its own [tool.mutmut] section there. ``--list`` prints the sampled mutants' statuses, survivors first.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parents[1]
TESTED = ("killed", "timeout", "survived", "suspicious", "segfault")
ALSO_COPY = [
    "data/",
    "static/",
    "assets/",
    "views/",
    "api/",
    "connectors/",
    "app.py",
    ".streamlit/",
    "bench/",
]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def mutmut_section(rooms: list[str], tests: list[str], deselect: str) -> str:
    """The [tool.mutmut] section for ``rooms`` (folders or files), run with ``tests``."""
    only = [f"{r.rstrip('/')}/*.py" if not r.endswith(".py") else r for r in rooms]
    selection = [*tests, "-k", deselect] if deselect else tests
    return (
        "[tool.mutmut]\n"
        f'source_paths = ["core/", "agents/"]\n'
        f"only_mutate = {_toml_list(only)}\n"
        f"also_copy = {_toml_list(ALSO_COPY)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(selection)}\n"
        f'pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]\n'
    )


def prepare_copy(workdir: Path, section: str) -> None:
    """The committed tree in ``workdir`` with ``section`` as its mutmut configuration."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
    pyproject = workdir / "pyproject.toml"
    text = pyproject.read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    pyproject.write_text(text.rstrip() + "\n\n" + section)


def mutant_names(workdir: Path) -> list[str]:
    """Every mutant mutmut generated in ``workdir`` (read from its .meta files)."""
    names: list[str] = []
    for meta in sorted((workdir / "mutants").rglob("*.meta")):
        names.extend(json.loads(meta.read_text())["exit_code_by_key"])
    return names


def statuses(workdir: Path) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for meta in (workdir / "mutants").rglob("*.meta"):
        out.update(json.loads(meta.read_text())["exit_code_by_key"])
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def summary(sample: list[str], status: dict[str, int | None]) -> dict:
    """Killed (a timeout counts as killed, as in bench/mutation_score.py) of the sampled mutants a test ran on."""
    words = [status_by_exit_code[status.get(n)] for n in sample]
    tested = [w for w in words if w in TESTED]
    killed = sum(w in ("killed", "timeout") for w in tested)
    lo, hi = wilson(killed, len(tested))
    return {
        "sampled": len(sample),
        "tested": len(tested),
        "no_covering_test": words.count("no tests"),
        "not_run": words.count("not checked"),
        "killed": killed,
        "score": round(killed / max(len(tested), 1), 3),
        "interval_95": [round(lo, 3), round(hi, 3)],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rooms", nargs="+", required=True, help="folders or .py files to mutate")
    ap.add_argument("--tests", nargs="+", required=True, help="test files that run against each mutant")
    ap.add_argument("--deselect", default="not postgres", help="pytest -k expression (default: %(default)s)")
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/aicommerce-mutation-sample"))
    ap.add_argument("--list", action="store_true", help="print each sampled mutant's status")
    args = ap.parse_args()

    mutmut = [sys.executable, "-m", "mutmut"]
    prepare_copy(args.workdir, mutmut_section(args.rooms, args.tests, args.deselect))
    # Generate the mutants and collect which tests cover which function; no mutant matches the name.
    subprocess.run(
        [*mutmut, "run", "--max-children", str(args.max_children), "no-such-mutant"], cwd=args.workdir
    )
    names = mutant_names(args.workdir)
    if not names:
        print("mutmut generated no mutants (see its output above)", file=sys.stderr)
        return 1
    sample = sorted(random.Random(args.seed).sample(names, min(args.sample, len(names))))
    print(
        f"{len(names)} mutants in {', '.join(args.rooms)}; running a sample of {len(sample)} (seed {args.seed})"
    )
    subprocess.run([*mutmut, "run", "--max-children", str(args.max_children), *sample], cwd=args.workdir)
    status = statuses(args.workdir)
    if args.list:
        for name in sorted(sample, key=lambda n: (status_by_exit_code[status.get(n)], n)):
            print(f"{status_by_exit_code[status.get(name)]:>12}  {name}")
    print(json.dumps({"mutants": len(names), **summary(sample, status)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
