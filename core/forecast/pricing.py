"""Pricing: the local reference price, the one price response, the profit-maximising price, the
recommendation's bounds around a price anchor and the good-price range (docs/methodology.md section 7)."""

from __future__ import annotations

from functools import cache

import numpy as np

PRICE_LEVEL_PASS_THROUGH = 0.5  # local reference price = typical x price_level ** 0.5
# Recommended price kept within these multiples of the local reference price: category elasticities are
# measured on price variation of about this order around market prices; beyond it the constant-elasticity
# curve is an extrapolation (docs/methodology.md, section 7).
PRICE_CLIP = (2 / 3, 1.5)  # the recommended price stays inside these multiples of the local price anchor
ANCHOR_RATIO = 2.0  # the product's own price anchors the recommendation when it is 2x or 1/2x the category's
PRICE_FLOOR_MARKUP = 1.05  # the recommended price never falls below 5 % over total unit cost, net of fees
FLAT_PROFIT_SHARE = 0.95  # the "good price range": prices earning at least 95 % of the best profit


def price_anchor_of(price: float, typical: float) -> tuple[float, str]:
    """The price (US level) a product's recommended price is bounded around, and where it comes from.

    The category's typical price, unless the analyst's own price is ``ANCHOR_RATIO`` times it or more, or
    that fraction of it or less: then the product is positioned in a segment of its own (a $300 headset, a
    $12 mug) and its own price is the anchor. Demand still responds to the category's local reference price
    (section 4); only the bounds of the recommendation move (section 7)."""
    if price >= ANCHOR_RATIO * typical or price <= typical / ANCHOR_RATIO:
        return float(price), "product"
    return float(typical), "category"


def price_response(price: float | np.ndarray, reference: float | np.ndarray, elasticity: float) -> np.ndarray:
    """Demand at ``price`` relative to demand at ``reference``: (price / reference) ^ -elasticity. The one
    price-response function: the ranking, the what-if curves and the ad planner all use it."""
    return (np.asarray(price, float) / reference) ** -elasticity


def profit_peak_price(
    cost: float | np.ndarray,
    fee_rate: float | np.ndarray,
    buyer_freight: float | np.ndarray,
    elasticity: float,
) -> np.ndarray:
    """The price that maximises (P (1 - f) - c) x (P + s) ^ -e, with s the buyer-paid freight.

    Setting the derivative to zero gives P* = (e c / (1 - f) + s) / (e - 1): the Lerner markup
    c e / ((e - 1)(1 - f)) when the seller pays shipping (s = 0), plus s / (e - 1) when the buyer pays it.
    """
    e = elasticity
    return (e * np.asarray(cost, float) / (1 - np.asarray(fee_rate, float)) + buyer_freight) / (e - 1)


def recommended_price(
    total_cost: np.ndarray,
    fee_rate: np.ndarray,
    buyer_freight: np.ndarray,
    elasticity: float,
    anchor: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(recommended price, above market) per city: the profit-maximising price kept inside PRICE_CLIP times
    the local price anchor and never under the cost floor; "above market" where the costs force a price over
    the range around the anchor (selling there means pricing out of that market)."""
    best = profit_peak_price(total_cost, fee_rate, buyer_freight, elasticity)
    clipped = np.clip(best, PRICE_CLIP[0] * anchor, PRICE_CLIP[1] * anchor)
    floor = total_cost * PRICE_FLOOR_MARKUP / (1 - fee_rate)
    return np.maximum(clipped, floor), floor > PRICE_CLIP[1] * anchor


@cache
def _relative_profit_curve(e: float) -> tuple[np.ndarray, np.ndarray, int]:
    """r(x) = x^-e (e x - e + 1): profit at x times the peak price over the peak profit; it rises from 0
    at x = (e-1)/e to 1 at x = 1, then falls. Computed once per elasticity."""
    x = np.geomspace((e - 1) / e, 50.0, 4001)
    r = x**-e * (e * x - e + 1)
    return x, r, int(np.argmax(r))


def good_price_range_of(
    anchor: np.ndarray, cost: np.ndarray, fee: np.ndarray, freight: np.ndarray, e: float
) -> dict[str, np.ndarray]:
    """Per city, the prices inside the recommended-price bounds that earn at least 95 % of the best
    profit there: how flat the profit curve is around the recommended price. NaN where no price in the
    bounds makes a profit.

    With demand ~ P^-e and unit margin P(1 - f) - c, profit relative to its unconstrained peak P* is
    r(x) = x^-e (e x - e + 1) with x = P / P*, whatever the city's costs (in the buyer's price P + s when
    the buyer pays shipping): one curve per category, so the range is two interpolations per city (O(n)),
    not a search.
    """
    lo, hi = PRICE_CLIP[0] * anchor, PRICE_CLIP[1] * anchor
    # In the buyer's price Q = P + s the profit is (1 - f)(Q - c') Q^-e with c' = s + c / (1 - f): the
    # same curve, so x = Q / Q* at the peak Q* = P* + s.
    peak_paid = profit_peak_price(cost, fee, freight, e) + freight
    x, r, top = _relative_profit_curve(e)
    xb = (np.clip(peak_paid - freight, lo, hi) + freight) / peak_paid  # the best price the bounds allow
    target = FLAT_PROFIT_SHARE * xb**-e * (e * xb - e + 1)
    left = np.interp(target, r[: top + 1], x[: top + 1])
    right = np.interp(target, r[top:][::-1], x[top:][::-1])
    low, high = np.maximum(left * peak_paid - freight, lo), np.minimum(right * peak_paid - freight, hi)
    ok = target > 0  # some price in the bounds makes money
    return {
        "good_price_low_usd": np.where(ok, low, np.nan),
        "good_price_high_usd": np.where(ok, high, np.nan),
    }
