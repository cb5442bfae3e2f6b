"""Engine timings for an A/B between two commits: run it in each `git worktree` (each with its own database,
DATABASE_URL), alternating, and compare the medians (docs/performance.md, session 8).

    python bench/engine_timing.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db.database import Database
from core.forecast import evaluate, order, prepare, rank, validate_product
from core.places.citydata import city_arrays_from_db
from core.settings import load_settings


def median_ms(f: Callable[[], object], n: int = 30) -> float:
    """Median wall time of ``f`` in milliseconds over ``n`` runs, after one warm-up run."""
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    ca = city_arrays_from_db(Database(load_settings().database_url, create=False))
    p = validate_product(name="Organic tee", category="Apparel & Accessories", price=30, unit_cost=8)
    prep = prepare(ca, p)
    r1 = median_ms(lambda: order(evaluate(prepare(ca, p))))
    r2 = median_ms(lambda: rank(evaluate(prepare(ca, p))), 15)
    r3 = median_ms(lambda: order(evaluate(prep, price=33.0)))
    r4 = median_ms(lambda: rank(evaluate(prep, price=33.0), top=1000), 20)
    print(
        f"{Path(os.getcwd()).name}: ranking {r1:.2f} ms, table {r2:.1f} ms, what-if {r3:.2f} ms, top-1000 {r4:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
