"""Engine timings for an A/B between two commits: run it in each `git worktree` (each with its own database,
DATABASE_URL), alternating, and compare the medians (docs/performance.md, session 8).

    python bench/engine_timing.py
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())
from core.db.database import Database
from core.forecast import evaluate, order, prepare, rank, validate_product
from core.places.citydata import city_arrays_from_db
from core.settings import load_settings

db = Database(load_settings().database_url, create=False)
ca = city_arrays_from_db(db)
p = validate_product(name="Organic tee", category="Apparel & Accessories", price=30, unit_cost=8)
def med(f, n=30):
    f(); ts=[]
    for _ in range(n):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return statistics.median(ts)*1000
prep = prepare(ca, p)
r1 = med(lambda: order(evaluate(prepare(ca, p))))
r2 = med(lambda: rank(evaluate(prepare(ca, p))), 15)
r3 = med(lambda: order(evaluate(prep, price=33.0)))
r4 = med(lambda: rank(evaluate(prep, price=33.0), top=1000), 20)
print(os.getcwd().split('/')[-1], f"rank {r1:.2f}  table {r2:.1f}  whatif {r3:.2f}  top1000 {r4:.1f}")
