"""`make bench`: medians over repeated runs of the engine's hot paths (no assertions, figures only).

Prints one line per measurement: name, median, min, runs. Run on an idle machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.citydata import city_arrays_from_db
from core.db.database import Database
from core.forecast import evaluate, order, prepare, rank, validate_product
from core.settings import load_settings


def measure(name: str, fn: Callable[[], object], runs: int = 30, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    print(f"{name:<58} median {med:8.2f} ms   min {min(times):8.2f} ms   runs {runs}")
    return med


def main() -> None:
    ca = city_arrays_from_db(Database(load_settings().database_url))
    n = ca.city_id.size
    product = validate_product(name="Tee", category="166", price=30, unit_cost=8, ships_from="Istanbul, TR")
    prep = prepare(ca, product)
    print(f"cities: {n:,}")
    measure("ranking, all cities (prepare + evaluate + order)", lambda: order(evaluate(prepare(ca, product))))
    measure("ranking table, all cities (+ DataFrame of all columns)", lambda: rank(evaluate(prepare(ca, product))))
    measure("what-if recompute (evaluate at a new price + order)", lambda: order(evaluate(prep, price=33.0)))
    measure("what-if, top-50 table (evaluate + rank top 50)", lambda: rank(evaluate(prep, price=33.0), top=50))
    for extra in EXTRA:
        extra()


EXTRA: list[Callable[[], None]] = []

if __name__ == "__main__":
    main()
