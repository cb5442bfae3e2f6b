"""Sales Strategy math: marketplace per country with fee-adjusted margins, and the recommended channel."""

from __future__ import annotations

from functools import cache

import pandas as pd

from core import paths
from core.forecast import PAYMENT_FEE_FIXED_USD, PAYMENT_FEE_PCT


@cache
def _marketplaces() -> pd.DataFrame:
    return pd.read_csv(paths.DATA_DIR / "marketplaces.csv")


def channel_margins(iso2: str, price: float, landed_unit_cost: float, cac_per_unit: float = 0.0) -> pd.DataFrame:
    """Per channel in a country: fees, unit margin and margin rate; best first.

    The own web shop pays card fees and acquisition cost (CAC per unit); marketplaces charge their
    referral and fixed fees and bring their own traffic (no CAC).
    """
    rows = [{
        "channel": "Own web shop (D2C)", "fees_usd": price * PAYMENT_FEE_PCT / 100 + PAYMENT_FEE_FIXED_USD,
        "acquisition_usd": cac_per_unit, "note": "card fees; you buy the traffic",
    }]  # fmt: skip
    for r in _marketplaces()[lambda t: t["iso2"] == iso2].itertuples():
        rows.append({"channel": r.marketplace, "fees_usd": price * r.referral_fee_pct / 100 + r.fixed_fee_usd,
                     "acquisition_usd": 0.0, "note": str(r.note) if isinstance(r.note, str) else ""})  # fmt: skip
    t = pd.DataFrame(rows)
    t["unit_margin_usd"] = price - landed_unit_cost - t["fees_usd"] - t["acquisition_usd"]
    t["margin_rate"] = t["unit_margin_usd"] / price
    return t.sort_values("unit_margin_usd", ascending=False).reset_index(drop=True)


def recommend_channel(margins: pd.DataFrame) -> str:
    return str(margins.iloc[0]["channel"])
