"""Sales Strategy math: marketplace per country with fee-adjusted margins, and the recommended channel."""

from __future__ import annotations

from functools import cache

import pandas as pd

from core import paths
from core.forecast import PAYMENT_FEE_FIXED_USD, PAYMENT_FEE_PCT


@cache
def _marketplaces() -> pd.DataFrame:
    return pd.read_csv(paths.DATA_DIR / "marketplaces.csv")


def channel_margins(iso2: str, price: float, unit_cost: float, freight_usd: float, duty_rate: float,
                    cac_per_unit: float = 0.0) -> pd.DataFrame:  # fmt: skip
    """Per channel in a country: fees, contribution per unit after every cost, and what would make a
    losing channel break even; best first.

    Costs are the ranking's for that country's top city: unit cost, parcel shipping (``freight_usd``) and
    duty (``duty_rate`` x price, cross-border only). The own web shop pays card fees (the engine's
    PAYMENT_FEE_*) and acquisition (``cac_per_unit``); marketplaces charge their referral and fixed fees
    and bring their own traffic (no CAC, an assumption stated in the note).
    """
    rows = [{"channel": "Own web shop (D2C)", "pct_fee": PAYMENT_FEE_PCT / 100, "fixed_fee": PAYMENT_FEE_FIXED_USD,
             "acquisition_usd": cac_per_unit, "note": "card fees; you buy the traffic"}]  # fmt: skip
    for r in _marketplaces()[lambda t: t["iso2"] == iso2].itertuples():
        rows.append({"channel": r.marketplace, "pct_fee": r.referral_fee_pct / 100, "fixed_fee": float(r.fixed_fee_usd),
                     "acquisition_usd": 0.0, "note": str(r.note) if isinstance(r.note, str) else ""})  # fmt: skip
    t = pd.DataFrame(rows)
    keep = 1 - t["pct_fee"] - duty_rate  # share of the price left after percentage fees and duty
    t["fees_usd"] = price * t["pct_fee"] + t["fixed_fee"]
    t["duty_usd"] = price * duty_rate
    t["landed_cost_usd"] = unit_cost + freight_usd + t["duty_usd"]
    t["unit_margin_usd"] = price * keep - unit_cost - freight_usd - t["fixed_fee"] - t["acquisition_usd"]
    t["margin_rate"] = t["unit_margin_usd"] / price
    fixed_costs = unit_cost + freight_usd + t["fixed_fee"] + t["acquisition_usd"]
    t["break_even_price_usd"] = fixed_costs / keep  # the price at which this channel stops losing money
    t["max_unit_cost_usd"] = price * keep - freight_usd - t["fixed_fee"] - t["acquisition_usd"]
    t["max_cac_usd"] = price * keep - unit_cost - freight_usd - t["fixed_fee"]  # acquisition it can afford
    t["profitable"] = t["unit_margin_usd"] > 0
    return t.drop(columns=["pct_fee", "fixed_fee"]).sort_values("unit_margin_usd", ascending=False).reset_index(drop=True)


def recommend_channel(margins: pd.DataFrame) -> str | None:
    """The channel with the highest contribution per unit, only if it makes money; None otherwise."""
    best = margins.iloc[0]
    return str(best["channel"]) if best["unit_margin_usd"] > 0 else None
