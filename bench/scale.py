"""`make bench-scale`: ranking time and memory against the number of cities (34k real, 100k, 1M synthetic).

Synthetic tables repeat the real cities with new ids, positions jittered by up to 0.5 degrees and
populations scaled by 0.5-1.5 (seeded), so every column keeps a realistic distribution. Prints the
median ranking time (prepare + evaluate + order: the whole engine), the top-1000 table, the memory of
the engine's arrays, and the ratio to the real table, to show how cost grows (docs/performance.md).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import paths
from core.forecast import city_arrays, evaluate, order, prepare, rank, validate_product


def synthetic(base: pd.DataFrame, n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` cities built from the real ones (module doc)."""
    rng = np.random.default_rng(seed)
    reps = int(np.ceil(n / len(base)))
    frame = pd.concat([base] * reps, ignore_index=True).head(n).copy()
    frame["city_id"] = np.arange(1, n + 1, dtype=np.int64) + 10_000_000
    frame["lat"] = np.clip(frame["lat"] + rng.uniform(-0.5, 0.5, n), -89.9, 89.9)
    frame["lon"] = ((frame["lon"] + rng.uniform(-0.5, 0.5, n) + 180) % 360) - 180
    frame["population"] = frame["population"] * rng.uniform(0.5, 1.5, n)
    if "parent_city_id" in frame:
        frame["parent_city_id"] = np.nan  # every synthetic row is a city
    return frame


def timed(fn, runs: int) -> float:
    fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    real = pd.read_parquet(paths.DATA_DIR / "cities.parquet")
    real = real[real["parent_city_id"].isna()] if "parent_city_id" in real else real
    # Domestic fulfilment: synthetic copies make a named ships-from city ambiguous.
    product = validate_product(name="Tee", category="166", price=30, unit_cost=8)
    base_ms = base_mb = None
    print(f"{'cities':>10} {'ranking ms':>11} {'x':>6} {'top-1000 table ms':>18} {'arrays MB':>10} {'x':>6}")
    for n in (len(real), 100_000, 1_000_000):
        frame = real if n == len(real) else synthetic(real, n)
        ca = city_arrays(frame)
        mb = sum(v.nbytes for v in vars(ca).values() if isinstance(v, np.ndarray)) / 1e6
        runs = 20 if n <= 100_000 else 5
        ms = timed(lambda ca=ca: order(evaluate(prepare(ca, product))), runs)
        table_ms = timed(lambda ca=ca: rank(evaluate(prepare(ca, product)), top=1000), runs)
        base_ms, base_mb = base_ms or ms, base_mb or mb
        print(f"{n:>10,} {ms:>11.1f} {ms / base_ms:>6.1f} {table_ms:>18.1f} {mb:>10.1f} {mb / base_mb:>6.1f}")


if __name__ == "__main__":
    main()
