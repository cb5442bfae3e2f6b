"""Sales Strategy math: marketplace per country with fee-adjusted margins, and the recommended channel."""

from __future__ import annotations

from functools import cache

import pandas as pd

from core import paths
from core.forecast import PAYMENT_FEE_FIXED_USD, PAYMENT_FEE_PCT


@cache
def _marketplaces() -> pd.DataFrame:
    return pd.read_csv(paths.DATA_DIR / "marketplaces.csv")


# What a restricted marketplace sells (data/marketplaces.csv, column ``sells``; the marketplaces' seller
# policies): Etsy lists only handmade items, vintage items and craft supplies; Zalando's partner programme
# only fashion. A product is eligible for "handmade" when its name or description says so.
HANDMADE_WORDS = (
    "handmade",
    "hand made",
    "hand-made",
    "handcrafted",
    "hand crafted",
    "hand-crafted",
    "artisan",
    "vintage",
    "craft supplies",
    "crafting",
    "hand knitted",
    "hand-knitted",
    "hand painted",
    "hand-painted",
    "handwoven",
    "hand woven",
)
FASHION_CATEGORY_ID = 166  # Google product taxonomy: Apparel & Accessories
SELLS_LABELS = {"handmade": "handmade, vintage and craft-supply items only", "fashion": "fashion only"}


def eligible(sells: str, category_id: int, text: str) -> bool:
    """Whether a marketplace that ``sells`` (any | handmade | fashion) may list this product."""
    if sells == "handmade":
        low = text.lower()
        return any(w in low for w in HANDMADE_WORDS)
    if sells == "fashion":
        return category_id == FASHION_CATEGORY_ID
    return True


def excluded_channels(iso2: str, category_id: int, text: str) -> list[str]:
    """The country's marketplaces this product may not be listed on, with why ("Etsy: handmade ... only")."""
    return [
        f"{name}: {SELLS_LABELS.get(sells, sells)}"
        for name, *_rest, sells in _country_marketplaces().get(iso2, [])
        if not eligible(sells, category_id, text)
    ]


def channel_margins(
    iso2: str,
    price: float,
    unit_cost: float,
    freight_usd: float,
    duty_rate: float,
    cac_per_unit: float = 0.0,
    category_id: int | None = None,
    text: str = "",
) -> pd.DataFrame:
    """Per channel in a country: fees, contribution per unit after every cost, and what would make a
    losing channel break even; best first.

    Costs are the ranking's for that country's top city: unit cost, parcel shipping when the seller pays it
    (``freight_usd``, the ranking's ``seller_freight_usd``; 0 when the buyer pays it on top) and duty (``duty_rate`` x price, cross-border only). The own web shop pays card fees (the engine's
    PAYMENT_FEE_*) and acquisition (``cac_per_unit``); marketplaces charge their referral and fixed fees
    and bring their own traffic (no CAC, an assumption stated in the note). With ``category_id``, marketplaces
    that may not list the product (``eligible``: Etsy without handmade / vintage / craft in ``text``) are left out.
    """
    channels = [
        (
            "Own web shop (D2C)",
            PAYMENT_FEE_PCT / 100,
            PAYMENT_FEE_FIXED_USD,
            cac_per_unit,
            "card fees; you buy the traffic",
            "any",
        )
    ]
    channels += [
        c
        for c in _country_marketplaces().get(iso2, [])
        if category_id is None or eligible(c[-1], category_id, text)
    ]
    rows = []
    for channel, pct_fee, fixed_fee, acquisition, note, _sells in channels:
        keep = 1 - pct_fee - duty_rate  # share of the price left after percentage fees and duty
        fixed_costs = unit_cost + freight_usd + fixed_fee + acquisition
        margin = price * keep - fixed_costs
        rows.append(
            {
                "channel": channel,
                "acquisition_usd": acquisition,
                "note": note,
                "fees_usd": price * pct_fee + fixed_fee,
                "duty_usd": price * duty_rate,
                "landed_cost_usd": unit_cost + freight_usd + price * duty_rate,
                "unit_margin_usd": margin,
                "margin_rate": margin / price,
                "break_even_price_usd": fixed_costs / keep,  # price where it stops losing
                "max_unit_cost_usd": price * keep - freight_usd - fixed_fee - acquisition,
                "max_cac_usd": price * keep
                - unit_cost
                - freight_usd
                - fixed_fee,  # acquisition it can afford
                "profitable": margin > 0,
            }
        )
    return (
        pd.DataFrame(rows)
        .sort_values("unit_margin_usd", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


@cache
def _country_marketplaces() -> dict[str, list[tuple[str, float, float, float, str, str]]]:
    """Marketplaces per country as plain tuples (name, referral share, fixed fee, CAC 0, note, sells): read once."""
    out: dict[str, list] = {}
    for r in _marketplaces().itertuples():
        note = str(r.note) if isinstance(r.note, str) else ""
        out.setdefault(r.iso2, []).append(
            (r.marketplace, r.referral_fee_pct / 100, float(r.fixed_fee_usd), 0.0, note, str(r.sells))
        )
    return out


@cache
def _buying_facts() -> pd.DataFrame:
    return pd.read_csv(paths.DATA_DIR / "category_buying_facts.csv").set_index("category_id")


def buying_facts(category_id: int) -> dict[str, object]:
    """What a buyer of the category compares, the FAQ topics and whether a two-unit bundle makes sense
    (``data/category_buying_facts.csv``, the project's checklist): the product page is not a T-shirt's for
    headphones."""
    t = _buying_facts()
    if category_id not in t.index:
        return {"compares": "specifications, size, materials", "faq": "delivery; returns", "bundle": False}
    r = t.loc[category_id]
    return {
        "compares": str(r["compares"]),
        "faq": str(r["faq"]),
        "bundle": str(r["bundle"]).strip().lower() == "yes",
    }


def recommend_channel(margins: pd.DataFrame) -> str | None:
    """The channel with the highest contribution per unit, only if it makes money; None otherwise."""
    best = margins.iloc[0]
    return str(best["channel"]) if best["unit_margin_usd"] > 0 else None
