"""The demo shop: sample orders bundled with the project (data/demo_shop_orders.csv, built by
data/scripts/make_demo_shop.py from city populations; NOT real sales), so the connect -> sync ->
calibrate flow can be seen without marketplace credentials. No network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd

from connectors.base import Order, Page

ORDERS_FILE = Path(__file__).resolve().parents[1] / "data" / "demo_shop_orders.csv"
PAGE_SIZE = 100
NAME = "Demo shop (sample orders, not real sales)"


class DemoConnector:
    kind = "demo"

    def __init__(self, orders_file: Path = ORDERS_FILE) -> None:
        self.orders_file = orders_file

    def credentials(self) -> dict:
        return {}

    def test_connection(self) -> str:
        return NAME

    def pages(self, since: datetime | None, cursor: str | None) -> Iterator[Page]:
        frame = pd.read_csv(self.orders_file, dtype={"region": str}, keep_default_na=False)
        created = pd.to_datetime(frame["created_at"], utc=True)
        if since is not None:
            ts = pd.Timestamp(since)
            keep = created >= (ts.tz_localize("UTC") if ts.tzinfo is None else ts)
            frame, created = frame[keep], created[keep]
        start = int(cursor or 0)
        while start < len(frame):
            part, when = frame.iloc[start : start + PAGE_SIZE], created.iloc[start : start + PAGE_SIZE]
            orders = [
                Order(
                    str(r.order_id),
                    t.to_pydatetime(),
                    str(r.city),
                    str(r.region),
                    str(r.country),
                    int(r.quantity),
                    float(r.amount),
                )
                for r, t in zip(part.itertuples(), when, strict=True)
            ]
            start += PAGE_SIZE
            yield Page(orders, 0, str(start) if start < len(frame) else None)
