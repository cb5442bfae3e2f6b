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

    Costs are the ranking's for that country's top city: unit cost, parcel shipping when the seller pays it
    (``freight_usd``, the ranking's ``seller_freight_usd``; 0 when the buyer pays it on top) and duty (``duty_rate`` x price, cross-border only). The own web shop pays card fees (the engine's
    PAYMENT_FEE_*) and acquisition (``cac_per_unit``); marketplaces charge their referral and fixed fees
    and bring their own traffic (no CAC, an assumption stated in the note).
    """
    channels = [("Own web shop (D2C)", PAYMENT_FEE_PCT / 100, PAYMENT_FEE_FIXED_USD, cac_per_unit,
                 "card fees; you buy the traffic")]  # fmt: skip
    channels += _country_marketplaces().get(iso2, [])
    rows = []
    for channel, pct_fee, fixed_fee, acquisition, note in channels:
        keep = 1 - pct_fee - duty_rate  # share of the price left after percentage fees and duty
        fixed_costs = unit_cost + freight_usd + fixed_fee + acquisition
        margin = price * keep - fixed_costs
        rows.append({
            "channel": channel, "acquisition_usd": acquisition, "note": note,
            "fees_usd": price * pct_fee + fixed_fee, "duty_usd": price * duty_rate,
            "landed_cost_usd": unit_cost + freight_usd + price * duty_rate, "unit_margin_usd": margin,
            "margin_rate": margin / price, "break_even_price_usd": fixed_costs / keep,  # price where it stops losing
            "max_unit_cost_usd": price * keep - freight_usd - fixed_fee - acquisition,
            "max_cac_usd": price * keep - unit_cost - freight_usd - fixed_fee,  # acquisition it can afford
            "profitable": margin > 0,
        })  # fmt: skip
    return pd.DataFrame(rows).sort_values("unit_margin_usd", ascending=False, kind="stable").reset_index(drop=True)


@cache
def _country_marketplaces() -> dict[str, list[tuple[str, float, float, float, str]]]:
    """Marketplaces per country as plain tuples (name, referral share, fixed fee, CAC 0, note): read once."""
    out: dict[str, list] = {}
    for r in _marketplaces().itertuples():
        note = str(r.note) if isinstance(r.note, str) else ""
        out.setdefault(r.iso2, []).append((r.marketplace, r.referral_fee_pct / 100, float(r.fixed_fee_usd), 0.0, note))
    return out


def recommend_channel(margins: pd.DataFrame) -> str | None:
    """The channel with the highest contribution per unit, only if it makes money; None otherwise."""
    best = margins.iloc[0]
    return str(best["channel"]) if best["unit_margin_usd"] > 0 else None
