"""The forecast engine: rank every city for a product (docs/methodology.md explains each line).

Pure and vectorised: numpy over all ~34k cities at once, no database, no network, no UI.
Two stages keep what-if sliders fast:

- ``prepare(cities, product)`` computes everything that does not depend on price, unit cost,
  acquisition cost or weights (buyers, spend, fulfilment, competition);
- ``evaluate(prepared, price=..., unit_cost=..., weights=...)`` computes the rest.

``rank(evaluation, ...)`` turns an evaluation into the ranked table shown everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.errors import InputError
from core.forecast import season
from core.forecast.categories import AGE_BANDS, Category
from core.forecast.cities import CityArrays, Origin, city_arrays, resolve_origin, scope_mask
from core.forecast.inputs import ProductInput, ScoreWeights
from core.places.geo import haversine_km

# --- global parameters (docs/methodology.md, "Parameters"); each is a documented assumption ---
BASE_SHARE = 2e-5  # share of local category online spend one new seller captures, uncontested
COMPETITION_SHARE_CUT = 0.5  # at competition 100 the obtainable share halves
PRICE_LEVEL_PASS_THROUGH = 0.5  # local reference price = typical x price_level ** 0.5
DELIVERY_ELASTICITY = 0.5  # demand ~ (1 + days) ** -0.5
LPI_REFERENCE = 4.0  # parcel transit times of the delivery bands hold at this logistics performance
LPI_DAYS_FACTOR = (0.8, 2.0)  # bounds of the delivery-time multiplier LPI_REFERENCE / LPI
REFERENCE_DELIVERY_DAYS = 2.0
CROSS_BORDER_DAYS = 3.0
PAYMENT_FEE_PCT = 2.9  # card processing: percentage part (Stripe's published US standard rate)
PAYMENT_FEE_FIXED_USD = 0.30  # card processing: fixed part per order
NON_TARGET_AGE_WEIGHT = 0.25  # propensity of age bands outside the target, relative to target
# Recommended price kept within these multiples of the local reference price: category elasticities are
# measured on price variation of about this order around market prices; beyond it the constant-elasticity
# curve is an extrapolation (docs/methodology.md, section 7).
PRICE_CLIP = (2 / 3, 1.5)  # the recommended price stays inside these multiples of the local price anchor
ANCHOR_RATIO = 2.0  # the product's own price anchors the recommendation when it is 2x or 1/2x the category's
PRICE_FLOOR_MARKUP = 1.05  # the recommended price never falls below 5 % over total unit cost, net of fees
FLAT_PROFIT_SHARE = 0.95  # the "good price range": prices earning at least 95 % of the best profit
Z80 = 1.2816  # low / high bounds are the 10th and 90th percentiles
SCORE_DECADES = 4.0  # log-scaled scores span four orders of magnitude below the best city
MEANINGFUL_DEMAND_SCORE = (
    50.0  # demand points (two decades below the best city) under which opportunity shrinks
)
MARGIN_FOR_FULL_SCORE = 0.5  # a 50 % contribution margin earns the full margin points
COMPETITION_WEIGHTS = {"maturity": 0.4, "merchant_density": 0.3, "market_depth": 0.3}
MERCHANT_DENSITY_TOP = 2e5  # secure servers per million at which merchant density reaches 1


@cache
def _shipping_tables() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ship = pd.read_csv(paths.DATA_DIR / "shipping.csv").set_index("weight_class")
    bands = pd.read_csv(paths.DATA_DIR / "delivery_bands.csv")
    return ship, bands["max_km"].to_numpy(float), bands["days"].to_numpy(float)


def transit_days(distance_km: float | np.ndarray) -> np.ndarray:
    """Parcel transit days by great-circle distance, before the logistics factor: linear between the
    edges of ``data/delivery_bands.csv`` (a band's days are reached at its ``max_km``; the first band's
    days hold from 0 km; beyond the last edge its days), so a city 10 km further out does not jump a
    whole band (docs/methodology.md section 4)."""
    _, band_km, band_days = _shipping_tables()
    return np.interp(np.asarray(distance_km, float), np.r_[0.0, band_km], np.r_[band_days[0], band_days])


# --- stage 1: price-independent -------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Prepared:
    ca: CityArrays
    product: ProductInput
    category: Category
    origin: Origin | None
    online_buyers: np.ndarray
    spend_per_buyer_usd_year: np.ndarray
    market_size_usd_month: np.ndarray
    reference_price: np.ndarray
    price_anchor: np.ndarray  # the local price the recommendation is bounded around (price_anchor_of)
    anchor_source: str  # "category" or "product" (price_anchor_of)
    age_fit: np.ndarray
    climate_fit: np.ndarray  # the year's mean relative demand from climate (1 without a climate affinity)
    month_factor: np.ndarray  # the launch month's demand relative to the average month (1 without a month)
    seasonal_profile: np.ndarray  # (n, 12): each month's demand relative to the city's average month
    distance_km: np.ndarray
    delivery_days: np.ndarray
    delivery_factor: np.ndarray
    shipping_cost: np.ndarray  # the parcel's price to this city, whoever pays it
    buyer_freight: np.ndarray  # the part the buyer pays on top of the price (0 when the seller pays)
    seller_freight: np.ndarray  # the part in the seller's unit cost (0 when the buyer pays)
    cross_border: np.ndarray
    fee_rate: np.ndarray  # fraction of price: card fee + duty where cross-border
    competition: np.ndarray
    competition_terms: dict[str, np.ndarray]
    share: np.ndarray
    log_terms: dict[str, np.ndarray]  # log-factors of demand that do not depend on price
    flat_terms: frozenset[str]  # log terms that are 0 in every city (their score points are 0 too)
    log_term_medians: dict[str, float]
    median_log_reference_price: float


def _scale(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(x)


def price_anchor_of(price: float, typical: float) -> tuple[float, str]:
    """The price (US level) a product's recommended price is bounded around, and where it comes from.

    The category's typical price, unless the analyst's own price is ``ANCHOR_RATIO`` times it or more, or
    that fraction of it or less: then the product is positioned in a segment of its own (a $300 headset, a
    $12 mug) and its own price is the anchor. Demand still responds to the category's local reference price
    (section 4); only the bounds of the recommendation move (section 7)."""
    if price >= ANCHOR_RATIO * typical or price <= typical / ANCHOR_RATIO:
        return float(price), "product"
    return float(typical), "category"


FOOD_CATEGORY_ID = 412  # Food, Beverages & Tobacco: outside the "non_food" (industrial goods) agreements


@cache
def _duty_free_areas() -> tuple[tuple[frozenset[str], str, str], ...]:
    """(members, goods, area) of each duty-free area in data/duty_free_areas.csv."""
    t = pd.read_csv(paths.DATA_DIR / "duty_free_areas.csv")
    return tuple(
        (frozenset(m.split()), str(g), str(a))
        for m, g, a in zip(t["members"], t["goods"], t["area"], strict=True)
    )


def duty_free(origin_iso2: str, dest_iso2: np.ndarray, category_id: int) -> np.ndarray:
    """Where goods shipped from ``origin_iso2`` enter without customs duty: the same country, or both in a
    customs union or free-trade area of data/duty_free_areas.csv that covers the category (the "non_food"
    agreements cover industrial goods, not food). Assumption: the goods originate in the ships-from
    country, so they meet the agreements' rules of origin (docs/methodology.md section 4)."""
    dest = np.asarray(dest_iso2)
    free = dest == origin_iso2
    for members, goods, _area in _duty_free_areas():
        if origin_iso2 in members and (goods == "all" or category_id != FOOD_CATEGORY_ID):
            free |= np.isin(dest, list(members))
    return free


def prepare(ca: CityArrays, product: ProductInput) -> Prepared:
    """Everything about the product and the cities that does not depend on price or costs."""
    cat = product.category_row()
    origin = resolve_origin(product.ships_from, ca)
    # Spend per buyer: category spend at the reference income, scaled by income ^ elasticity,
    # converted to US dollars at the local price level.
    income_ratio = ca.income_ppp / ca.reference_income
    spend_real = (
        cat.annual_online_spend_per_buyer_usd * (income_ratio * ca.city_size) ** cat.income_elasticity
    )
    spend_usd = spend_real * ca.price_level
    # Age fit: the city's adult age mix against the world's, weighted by category propensity and
    # the product's target bands.
    profile = np.asarray(cat.age_profile)
    if product.target_ages:
        mask = np.array([b in product.target_ages for b in AGE_BANDS], dtype=float)
        profile = profile * (mask + (1 - mask) * NON_TARGET_AGE_WEIGHT)
    age_fit = (ca.age_shares @ profile) / float(ca.world_age_shares @ profile)
    # Climate and season (section 2b): the product's demand month by month from the city's temperatures.
    n = ca.city_id.size
    zeros = np.zeros(n)
    climate_on = product.climate in season.CLIMATE_FLOOR or bool(product.season_months)
    if climate_on:
        monthly = season.monthly_demand(ca.monthly_temp, product.climate, product.season_months or ())
        climate_fit = season.climate_fit(monthly, product.climate)
        profile_by_month = season.seasonal_profile(monthly)
    else:  # no climate affinity, no calendar season: every month alike (no (n, 12) arrays to build)
        climate_fit, profile_by_month = np.ones(n), np.broadcast_to(1.0, (n, 12))
    month_factor = profile_by_month[:, product.launch_month - 1] if product.launch_month else np.ones(n)
    category_market = ca.online_buyers * spend_usd * age_fit / 12.0  # the category's market, any product
    market = category_market * climate_fit * month_factor
    ref_price = cat.typical_price_usd * ca.price_level**PRICE_LEVEL_PASS_THROUGH
    anchor_usd, anchor_source = price_anchor_of(product.price, cat.typical_price_usd)
    anchor = ref_price * (anchor_usd / cat.typical_price_usd)

    ship, _, _ = _shipping_tables()
    rates = ship.loc[cat.weight_class]
    # Transit days by distance band, slower where logistics perform worse (destination's LPI).
    lpi_factor = np.clip(LPI_REFERENCE / ca.logistics, *LPI_DAYS_FACTOR)
    if origin is None:  # domestic sellers: every country served from its own hub
        dist = haversine_km(ca.hub_lat, ca.hub_lon, ca.lat, ca.lon)
        cross = np.zeros(ca.lat.shape, dtype=bool)
        base = rates["domestic_usd"] * ca.price_level**PRICE_LEVEL_PASS_THROUGH
    else:
        dist = haversine_km(origin.lat, origin.lon, ca.lat, ca.lon)
        cross = ca.iso2 != origin.iso2
        base = np.where(cross, rates["base_usd"], rates["domestic_usd"])
    days = transit_days(dist) * lpi_factor + cross * CROSS_BORDER_DAYS
    shipping = np.asarray(base + rates["per_1000km_usd"] * dist / 1000.0, float)
    buyer_pays = product.shipping_paid_by == "buyer"
    delivery_factor = ((1 + REFERENCE_DELIVERY_DAYS) / (1 + days)) ** DELIVERY_ELASTICITY
    dutiable = cross & ~duty_free(origin.iso2, ca.iso2, cat.id) if origin is not None else cross
    fee_rate = PAYMENT_FEE_PCT / 100 + dutiable * cat.duty_pct / 100

    # Competition index: e-commerce maturity, merchant density and market depth (a proxy).
    log_market = np.log(np.maximum(category_market, 1e-9))  # saturation of the category, not of this product
    lo, hi = np.quantile(log_market, [0.01, 0.999])
    comp_terms = {
        "maturity": COMPETITION_WEIGHTS["maturity"] * np.clip(ca.online_pct / 100, 0, 1),
        "merchant_density": COMPETITION_WEIGHTS["merchant_density"]
        * _scale(np.log10(np.maximum(ca.servers, 1.0)), 0.0, np.log10(MERCHANT_DENSITY_TOP)),
        "market_depth": COMPETITION_WEIGHTS["market_depth"] * _scale(log_market, lo, hi),
    }
    comp_terms = {k: 100 * v for k, v in comp_terms.items()}
    competition = np.clip(sum(comp_terms.values()), 0, 100)
    share = BASE_SHARE * (1 - COMPETITION_SHARE_CUT * competition / 100)

    log_terms = {
        "online_buyers": np.log(np.maximum(ca.online_buyers, 1e-9)),
        "income": cat.income_elasticity * np.log(income_ratio),
        "city_size": cat.income_elasticity * np.log(ca.city_size),
        "price_level": (1 - PRICE_LEVEL_PASS_THROUGH) * np.log(ca.price_level),
        "age_fit": np.log(age_fit),
        "climate": np.log(climate_fit) if climate_on else zeros,
        "season": np.log(month_factor) if product.launch_month and climate_on else zeros,
        "delivery": np.log(delivery_factor),
    }
    return Prepared(
        ca=ca,
        product=product,
        category=cat,
        origin=origin,
        online_buyers=ca.online_buyers,
        spend_per_buyer_usd_year=spend_usd,
        market_size_usd_month=market,
        reference_price=ref_price,
        price_anchor=anchor,
        anchor_source=anchor_source,
        age_fit=age_fit,
        climate_fit=climate_fit,
        month_factor=month_factor,
        seasonal_profile=profile_by_month,
        distance_km=dist,
        delivery_days=days,
        delivery_factor=delivery_factor,
        shipping_cost=shipping,
        buyer_freight=shipping if buyer_pays else np.zeros_like(shipping),
        seller_freight=np.zeros_like(shipping) if buyer_pays else shipping,
        cross_border=cross,
        fee_rate=fee_rate,
        competition=competition,
        competition_terms=comp_terms,
        share=share,
        log_terms=log_terms,
        flat_terms=frozenset(k for k, v in log_terms.items() if v is zeros),
        # Medians of monotone transforms of city-table columns come precomputed with the table.
        log_term_medians={
            "online_buyers": ca.medians["log_online_buyers"],
            "income": cat.income_elasticity * ca.medians["log_income_ratio"],
            "city_size": cat.income_elasticity * ca.medians["log_city_size"],
            "price_level": (1 - PRICE_LEVEL_PASS_THROUGH) * ca.medians["log_price_level"],
            "age_fit": float(np.median(log_terms["age_fit"])),
            "climate": float(np.median(log_terms["climate"]))
            if product.climate in season.CLIMATE_FLOOR
            else 0.0,
            "season": float(np.median(log_terms["season"])) if product.launch_month else 0.0,
            "delivery": float(np.median(log_terms["delivery"])),
        },
        median_log_reference_price=float(np.median(np.log(ref_price))),
    )


# --- stage 2: price-dependent ---------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    prepared: Prepared
    price: float
    unit_cost: float
    cac_per_unit: float
    weights: ScoreWeights
    columns: dict[str, np.ndarray]


def _log_score(logx: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Scale logs to 0-100: the best city is 100, four decades below it is 0."""
    top = float(np.max(logx))
    low = top - SCORE_DECADES * np.log(10)
    return np.clip(100 * (logx - low) / (top - low), 0, 100), low, top


def price_response(price: float | np.ndarray, reference: float | np.ndarray, elasticity: float) -> np.ndarray:
    """Demand at ``price`` relative to demand at ``reference``: (price / reference) ^ -elasticity. The one
    price-response function: the ranking, the what-if curves and the ad planner all use it."""
    return (np.asarray(price, float) / reference) ** -elasticity


def buyer_price(prep: Prepared, price: float | np.ndarray) -> np.ndarray:
    """What a buyer in each city pays for one unit at ``price``: the price plus the parcel when the buyer
    pays shipping (``ProductInput.shipping_paid_by``). Demand responds to this price (section 4)."""
    return np.asarray(price, float) + prep.buyer_freight


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


def evaluate(
    prep: Prepared,
    *,
    price: float | None = None,
    unit_cost: float | None = None,
    cac_per_unit: float = 0.0,
    weights: ScoreWeights | None = None,
) -> Evaluation:
    """Units, money and scores for every city at this price, unit cost, CAC and weights."""
    price = float(prep.product.price if price is None else price)
    unit_cost = float(prep.product.unit_cost if unit_cost is None else unit_cost)
    weights = weights or prep.product.weights
    if price <= 0:
        raise InputError("price must be above zero", field="price")
    if unit_cost < 0 or cac_per_unit < 0:
        raise InputError("costs cannot be negative", field="unit_cost")
    e = prep.category.price_elasticity
    paid = buyer_price(prep, price)  # what the buyer pays: the price, plus the parcel when the buyer pays it
    price_term = -e * np.log(paid / prep.reference_price)
    log_demand_parts = dict(prep.log_terms, price=price_term)
    # terms that are 0 in every city (no climate affinity, no launch month) add nothing: skip their arithmetic
    active = {k: v for k, v in log_demand_parts.items() if k not in prep.flat_terms}
    log_demand = sum(active.values())
    demand_score, low, top = _log_score(log_demand)
    span = top - low
    # Each term in score points, relative to the median city (without buyer-paid freight the median of
    # -e*log(P/ref) is -e*(log P - median log ref), since the map is monotone: no sort needed).
    price_median = (
        float(np.median(price_term))
        if prep.product.shipping_paid_by == "buyer"
        else -e * (np.log(price) - prep.median_log_reference_price)
    )
    medians = dict(prep.log_term_medians, price=price_median)
    demand_terms = {
        k: (100 * (v - medians[k]) / span if k in active else v) for k, v in log_demand_parts.items()
    }

    # Units at this price: category units at the local reference price x price response x share.
    potential_units = (
        prep.market_size_usd_month
        / prep.reference_price
        * price_response(paid, prep.reference_price, e)
        * prep.delivery_factor
    )
    units = potential_units * prep.share
    sigma = prep.ca.sigma
    units_low = units * np.exp(-Z80 * sigma)
    units_high = units * np.exp(Z80 * sigma)
    revenue = units * price

    total_cost = unit_cost + prep.seller_freight + PAYMENT_FEE_FIXED_USD + cac_per_unit
    net_price = price * (1 - prep.fee_rate)
    unit_margin = net_price - total_cost
    profit = units * unit_margin
    margin_rate = unit_margin / price

    best = profit_peak_price(total_cost, prep.fee_rate, prep.buyer_freight, e)
    clipped = np.clip(best, PRICE_CLIP[0] * prep.price_anchor, PRICE_CLIP[1] * prep.price_anchor)
    floor = total_cost * PRICE_FLOOR_MARKUP / (1 - prep.fee_rate)
    recommended = np.maximum(clipped, floor)
    # Costs force a price above the range around the anchor: selling here means pricing out of that market.
    above_market = floor > PRICE_CLIP[1] * prep.price_anchor

    margin_points = 100 * np.clip(margin_rate / MARGIN_FOR_FULL_SCORE, 0, 1)
    log_profit = np.log(np.maximum(profit, 1e-12))
    volume_points, *_ = _log_score(log_profit)
    volume_points = np.where(profit > 0, volume_points, 0.0)
    profitability = 0.5 * margin_points + 0.5 * volume_points

    wd, wp, wc = weights.normalised()
    # A city without meaningful demand cannot be an opportunity, whatever the weights: below
    # MEANINGFUL_DEMAND_SCORE every term shrinks in proportion (0 demand -> 0 opportunity; section 8).
    gate = np.minimum(demand_score / MEANINGFUL_DEMAND_SCORE, 1.0)
    opp_terms = {
        "demand": gate * wd * demand_score,
        "profitability": gate * wp * profitability,
        "low_competition": gate * wc * (100 - prep.competition),
    }
    opportunity = np.clip(sum(opp_terms.values()), 0, 100)

    cols: dict[str, np.ndarray] = {
        "demand_score": demand_score,
        "competition_index": prep.competition,
        "profitability_score": profitability,
        "opportunity_score": opportunity,
        "expected_units_month": units,
        "expected_units_low": units_low,
        "expected_units_high": units_high,
        "expected_revenue_usd_month": revenue,
        "recommended_price_usd": recommended,
        "loss_making": unit_margin < 0,  # every sale in this city loses money at this price and cost
        "price_above_market": above_market,
        # terms: the data behind the scores
        "online_buyers": prep.online_buyers,
        "spend_per_buyer_usd_year": prep.spend_per_buyer_usd_year,
        "market_size_usd_month": prep.market_size_usd_month,
        "local_reference_price_usd": prep.reference_price,
        "price_anchor_usd": prep.price_anchor,
        "age_fit": prep.age_fit,
        "climate_fit": prep.climate_fit,
        "season_factor": prep.month_factor,
        "distance_km": prep.distance_km,
        "delivery_days": prep.delivery_days,
        "shipping_cost_usd": prep.shipping_cost,
        "buyer_freight_usd": prep.buyer_freight,
        "seller_freight_usd": prep.seller_freight,
        "cross_border": prep.cross_border.astype(float),
        "fee_rate": prep.fee_rate,
        "total_unit_cost_usd": np.broadcast_to(total_cost, units.shape),
        "unit_margin_usd": unit_margin,
        "margin_rate": margin_rate,
        "profit_usd_month": profit,
        "obtainable_share": prep.share,
        "category_units_month": potential_units,  # the whole category's units at this price, before one seller's share
        **{f"demand_term_{k}": v for k, v in demand_terms.items()},
        **{f"competition_term_{k}": v for k, v in prep.competition_terms.items()},
        "profitability_term_margin": 0.5 * margin_points,
        "profitability_term_volume": 0.5 * volume_points,
        **{f"opportunity_term_{k}": v for k, v in opp_terms.items()},
    }
    return Evaluation(prep, price, unit_cost, cac_per_unit, weights, cols)


HEADLINE_COLUMNS = [
    "rank",
    "city_id",
    "city",
    "region",
    "country_iso2",
    "lat",
    "lon",
    "population",
    "demand_score",
    "competition_index",
    "profitability_score",
    "opportunity_score",
    "expected_units_month",
    "expected_units_low",
    "expected_units_high",
    "expected_revenue_usd_month",
    "recommended_price_usd",
]


def order(ev: Evaluation, mask: np.ndarray | None = None, top: int | None = None) -> np.ndarray:
    """Indices of cities in scope, best opportunity first (ties: lower city id first)."""
    score = ev.columns["opportunity_score"]
    idx = np.flatnonzero(mask) if mask is not None else np.arange(score.size)
    key = -score[idx]
    if top and top < idx.size // 4:
        # Only the best `top` are needed: partition first, then sort those (O(n) + O(k log k)).
        cut = np.partition(key, top - 1)[top - 1]
        idx = idx[key <= cut]
        key = -score[idx]
    # City arrays are sorted by city_id, so a stable sort breaks score ties by city id.
    sorted_idx = idx[np.argsort(key, kind="stable")]
    return sorted_idx[:top] if top else sorted_idx


def rank(ev: Evaluation, countries: list[str] | None = None, top: int | None = None) -> pd.DataFrame:
    """The ranking table: headline columns first, then every term column."""
    if top is not None and top < 1:
        raise InputError("top must be at least 1", field="top")
    idx = order(ev, scope_mask(ev.prepared.ca, countries), top)
    ca = ev.prepared.ca
    data: dict[str, np.ndarray] = {
        "rank": np.arange(1, idx.size + 1),
        "city_id": ca.city_id[idx],
        "city": ca.names[idx],
        "region": ca.regions[idx],
        "country_iso2": ca.iso2[idx],
        "lat": ca.lat[idx],
        "lon": ca.lon[idx],
        "population": ca.population[idx],
    }
    data.update({name: values[idx] for name, values in ev.columns.items()})
    data.update(good_price_range(ev, idx))
    # labels as plain object columns: pandas would otherwise convert every string (a third of the table's cost)
    data["best_months"] = pd.Series(
        season.best_months_of(ev.prepared.seasonal_profile[idx]), dtype=object, copy=False
    )
    zones = ca.koppen[idx].astype(object) if ca.koppen.size else np.full(idx.size, "", dtype=object)
    data["climate_zone"] = pd.Series(zones, dtype=object, copy=False)
    out = pd.DataFrame(data, copy=False)
    return out


@cache
def _relative_profit_curve(e: float) -> tuple[np.ndarray, np.ndarray, int]:
    """r(x) = x^-e (e x - e + 1): profit at x times the peak price over the peak profit; it rises from 0
    at x = (e-1)/e to 1 at x = 1, then falls. Computed once per elasticity."""
    x = np.geomspace((e - 1) / e, 50.0, 4001)
    r = x**-e * (e * x - e + 1)
    return x, r, int(np.argmax(r))


def good_price_range(ev: Evaluation, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per city, the prices inside the recommended-price bounds that earn at least 95 % of the best
    profit there: how flat the profit curve is around the recommended price. NaN where no price in the
    bounds makes a profit.

    With demand ~ P^-e and unit margin P(1 - f) - c, profit relative to its unconstrained peak P* is
    r(x) = x^-e (e x - e + 1) with x = P / P*, whatever the city's costs (in the buyer's price P + s when
    the buyer pays shipping): one curve per category, so
    the range is two interpolations per city (O(n)), not a search.
    """
    prep = ev.prepared
    e = prep.category.price_elasticity
    ref = prep.price_anchor[idx]
    cost = ev.columns["total_unit_cost_usd"][idx]
    fee = prep.fee_rate[idx]
    freight = prep.buyer_freight[idx]
    lo, hi = PRICE_CLIP[0] * ref, PRICE_CLIP[1] * ref
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


def rank_product(
    cities: pd.DataFrame | CityArrays,
    product: ProductInput,
    countries: list[str] | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Rank cities for a product in one call (prepare + evaluate + rank)."""
    ca = cities if isinstance(cities, CityArrays) else city_arrays(cities)
    return rank(evaluate(prepare(ca, product)), countries=countries, top=top)
