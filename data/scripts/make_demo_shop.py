"""Build data/demo_shop_orders.csv: the sample orders of the Connections page's demo shop.

NOT REAL SALES. The demo shop lets someone without marketplace credentials see the whole flow
(connect -> sync -> match report -> calibrate). Its orders are drawn, with a fixed seed, from the cities
of six European countries in data/cities.parquet (GeoNames), each city's chance proportional to
population ^ 1.1 (bigger cities buy a little more per person, as in docs/methodology.md section 2); one
to three units of a $24 item per order, twelve months from June 2025. The page and the connection's name
say it is a demo.

    python data/scripts/make_demo_shop.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
COUNTRIES = ["DE", "FR", "GB", "NL", "ES", "IT"]
ORDERS, SEED, PRICE = 900, 20250601, 24.0


def main() -> int:
    c = pd.read_parquet(ROOT / "data" / "cities.parquet")
    c = c[c["country_iso2"].isin(COUNTRIES) & c["parent_city_id"].isna()].sort_values("city_id")
    rng = np.random.default_rng(SEED)
    w = c["population"].to_numpy(float) ** 1.1
    pick = rng.choice(len(c), size=ORDERS, p=w / w.sum())
    start = pd.Timestamp("2025-06-01", tz="UTC")
    when = start + pd.to_timedelta(np.sort(rng.uniform(0, 365, ORDERS)), unit="D")
    qty = rng.choice([1, 2, 3], size=ORDERS, p=[0.75, 0.2, 0.05])
    rows = c.iloc[pick]
    out = pd.DataFrame(
        {
            "order_id": [f"DEMO-{i + 1:05d}" for i in range(ORDERS)],
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "city": rows["name"].to_numpy(),
            "region": rows["admin1"].fillna("").to_numpy(),
            "country": rows["country_iso2"].to_numpy(),
            "quantity": qty,
            "amount": qty * PRICE,
        }
    )
    out.to_csv(ROOT / "data" / "demo_shop_orders.csv", index=False)
    print(f"{len(out)} sample orders in {out['city'].nunique()} cities", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
