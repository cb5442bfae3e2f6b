"""The forecast engine: rank every city for a product (docs/methodology.md explains each line).

Pure and vectorised: numpy over all ~34k cities at once, no database, no network, no UI.
Two stages keep what-if sliders fast:

- ``prepare(cities, product)`` computes everything that does not depend on price, unit cost,
  acquisition cost or weights (buyers, spend, climate, fulfilment, competition);
- ``evaluate(prepared, price=..., unit_cost=..., weights=...)`` computes the rest.

Fulfilment (distance, days, parcel, fees) is in core.forecast.fulfilment, prices (the one price response,
the recommendation, the good-price range) in core.forecast.pricing, and ``rank`` (the table shown
everywhere) in core.forecast.ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.forecast import season
from core.forecast.categories import AGE_BANDS, Category
from core.forecast.cities import CityArrays, Origin, resolve_origin
from core.forecast.fulfilment import PAYMENT_FEE_FIXED_USD, fulfilment
from core.forecast.inputs import ProductInput, ScoreWeights
from core.forecast.pricing import PRICE_LEVEL_PASS_THROUGH, price_anchor_of, price_response, recommended_price

# --- global parameters (docs/methodology.md, "Parameters"); each is a documented assumption ---
BASE_SHARE = 2e-5  # share of local category online spend one new seller captures, uncontested
COMPETITION_SHARE_CUT = 0.5  # at competition 100 the obtainable share halves
NON_TARGET_AGE_WEIGHT = 0.25  # propensity of age bands outside the target, relative to target
Z80 = 1.2816  # low / high bounds are the 10th and 90th percentiles
SCORE_DECADES = 4.0  # log-scaled scores span four orders of magnitude below the best city
MEANINGFUL_DEMAND_SCORE = (
    50.0  # demand points (two decades below the best city) under which opportunity shrinks
)
MARGIN_FOR_FULL_SCORE = 0.5  # a 50 % contribution margin earns the full margin points
COMPETITION_WEIGHTS = {"maturity": 0.4, "merchant_density": 0.3, "market_depth": 0.3}
MERCHANT_DENSITY_TOP = 2e5  # secure servers per million at which merchant density reaches 1


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


def _age_fit(ca: CityArrays, cat: Category, target_ages: list[str]) -> np.ndarray:
    """The city's adult age mix against the world's, weighted by category propensity and the product's
    target bands (bands outside the target count NON_TARGET_AGE_WEIGHT)."""
    profile = np.asarray(cat.age_profile)
    if target_ages:
        mask = np.array([b in target_ages for b in AGE_BANDS], dtype=float)
        profile = profile * (mask + (1 - mask) * NON_TARGET_AGE_WEIGHT)
    return (ca.age_shares @ profile) / float(ca.world_age_shares @ profile)


@dataclass(frozen=True)
class _Climate:
    on: bool  # the product has a climate affinity or a calendar season
    fit: np.ndarray
    profile: np.ndarray  # (n, 12)
    month_factor: np.ndarray


def _climate(ca: CityArrays, product: ProductInput) -> _Climate:
    """Climate and season (section 2b): the product's demand month by month from the city's temperatures."""
    n = ca.city_id.size
    on = product.climate in season.CLIMATE_FLOOR or bool(product.season_months)
    if on:
        monthly = season.monthly_demand(ca.monthly_temp, product.climate, product.season_months or ())
        fit, profile = season.climate_fit(monthly, product.climate), season.seasonal_profile(monthly)
    else:  # no climate affinity, no calendar season: every month alike (no (n, 12) arrays to build)
        fit, profile = np.ones(n), np.broadcast_to(1.0, (n, 12))
    month_factor = profile[:, product.launch_month - 1] if product.launch_month else np.ones(n)
    return _Climate(on, fit, profile, month_factor)


def _competition(ca: CityArrays, category_market: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Competition index (0-100) and its terms: e-commerce maturity, merchant density and market depth."""
    log_market = np.log(np.maximum(category_market, 1e-9))  # saturation of the category, not of this product
    lo, hi = np.quantile(log_market, [0.01, 0.999])
    terms = {
        "maturity": COMPETITION_WEIGHTS["maturity"] * np.clip(ca.online_pct / 100, 0, 1),
        "merchant_density": COMPETITION_WEIGHTS["merchant_density"]
        * _scale(np.log10(np.maximum(ca.servers, 1.0)), 0.0, np.log10(MERCHANT_DENSITY_TOP)),
        "market_depth": COMPETITION_WEIGHTS["market_depth"] * _scale(log_market, lo, hi),
    }
    terms = {k: 100 * v for k, v in terms.items()}
    return np.clip(sum(terms.values()), 0, 100), terms


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
    age_fit = _age_fit(ca, cat, product.target_ages)
    clim = _climate(ca, product)
    category_market = ca.online_buyers * spend_usd * age_fit / 12.0  # the category's market, any product
    ref_price = cat.typical_price_usd * ca.price_level**PRICE_LEVEL_PASS_THROUGH
    anchor_usd, anchor_source = price_anchor_of(product.price, cat.typical_price_usd)
    ful = fulfilment(ca, origin, cat)
    buyer_pays = product.shipping_paid_by == "buyer"
    competition, comp_terms = _competition(ca, category_market)
    zeros = np.zeros(ca.city_id.size)
    log_terms = {
        "online_buyers": np.log(np.maximum(ca.online_buyers, 1e-9)),
        "income": cat.income_elasticity * np.log(income_ratio),
        "city_size": cat.income_elasticity * np.log(ca.city_size),
        "price_level": (1 - PRICE_LEVEL_PASS_THROUGH) * np.log(ca.price_level),
        "age_fit": np.log(age_fit),
        "climate": np.log(clim.fit) if clim.on else zeros,
        "season": np.log(clim.month_factor) if product.launch_month and clim.on else zeros,
        "delivery": np.log(ful.delivery_factor),
    }
    return Prepared(
        ca=ca,
        product=product,
        category=cat,
        origin=origin,
        online_buyers=ca.online_buyers,
        spend_per_buyer_usd_year=spend_usd,
        market_size_usd_month=category_market * clim.fit * clim.month_factor,
        reference_price=ref_price,
        price_anchor=ref_price * (anchor_usd / cat.typical_price_usd),
        anchor_source=anchor_source,
        age_fit=age_fit,
        climate_fit=clim.fit,
        month_factor=clim.month_factor,
        seasonal_profile=clim.profile,
        distance_km=ful.distance_km,
        delivery_days=ful.delivery_days,
        delivery_factor=ful.delivery_factor,
        shipping_cost=ful.shipping_cost,
        buyer_freight=ful.shipping_cost if buyer_pays else np.zeros_like(ful.shipping_cost),
        seller_freight=np.zeros_like(ful.shipping_cost) if buyer_pays else ful.shipping_cost,
        cross_border=ful.cross_border,
        fee_rate=ful.fee_rate,
        competition=competition,
        competition_terms=comp_terms,
        share=BASE_SHARE * (1 - COMPETITION_SHARE_CUT * competition / 100),
        log_terms=log_terms,
        flat_terms=frozenset(k for k, v in log_terms.items() if v is zeros),
        log_term_medians=_log_term_medians(ca, cat, product, log_terms),
        median_log_reference_price=float(np.median(np.log(ref_price))),
    )


def _log_term_medians(
    ca: CityArrays, cat: Category, product: ProductInput, log_terms: dict[str, np.ndarray]
) -> dict[str, float]:
    """The median city's value of each log term (score points are relative to it). Medians of monotone
    transforms of city-table columns come precomputed with the table."""
    return {
        "online_buyers": ca.medians["log_online_buyers"],
        "income": cat.income_elasticity * ca.medians["log_income_ratio"],
        "city_size": cat.income_elasticity * ca.medians["log_city_size"],
        "price_level": (1 - PRICE_LEVEL_PASS_THROUGH) * ca.medians["log_price_level"],
        "age_fit": float(np.median(log_terms["age_fit"])),
        "climate": float(np.median(log_terms["climate"])) if product.climate in season.CLIMATE_FLOOR else 0.0,
        "season": float(np.median(log_terms["season"])) if product.launch_month else 0.0,
        "delivery": float(np.median(log_terms["delivery"])),
    }


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


def buyer_price(prep: Prepared, price: float | np.ndarray) -> np.ndarray:
    """What a buyer in each city pays for one unit at ``price``: the price plus the parcel when the buyer
    pays shipping (``ProductInput.shipping_paid_by``). Demand responds to this price (section 4)."""
    return np.asarray(price, float) + prep.buyer_freight


def _demand(prep: Prepared, price: float, paid: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The demand score and each term in score points relative to the median city (section 8)."""
    e = prep.category.price_elasticity
    price_term = -e * np.log(paid / prep.reference_price)
    parts = dict(prep.log_terms, price=price_term)
    # terms that are 0 in every city (no climate affinity, no launch month) add nothing: skip their arithmetic
    active = {k: v for k, v in parts.items() if k not in prep.flat_terms}
    demand_score, low, top = _log_score(sum(active.values()))
    span = top - low
    # Without buyer-paid freight the median of -e*log(P/ref) is -e*(log P - median log ref), since the map
    # is monotone: no sort needed.
    price_median = (
        float(np.median(price_term))
        if prep.product.shipping_paid_by == "buyer"
        else -e * (np.log(price) - prep.median_log_reference_price)
    )
    medians = dict(prep.log_term_medians, price=price_median)
    terms = {k: (100 * (v - medians[k]) / span if k in active else v) for k, v in parts.items()}
    return demand_score, terms


def _profitability(margin_rate: np.ndarray, profit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profitability, margin points, volume points): half for the margin rate (full at
    MARGIN_FOR_FULL_SCORE), half for the profit volume on the log score scale (0 where it loses money)."""
    margin_points = 100 * np.clip(margin_rate / MARGIN_FOR_FULL_SCORE, 0, 1)
    volume_points, *_ = _log_score(np.log(np.maximum(profit, 1e-12)))
    volume_points = np.where(profit > 0, volume_points, 0.0)
    return 0.5 * margin_points + 0.5 * volume_points, margin_points, volume_points


def _opportunity(
    weights: ScoreWeights, demand: np.ndarray, profitability: np.ndarray, competition: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The weighted opportunity score. A city without meaningful demand cannot be an opportunity, whatever
    the weights: below MEANINGFUL_DEMAND_SCORE every term shrinks in proportion (0 demand -> 0; section 8)."""
    wd, wp, wc = weights.normalised()
    gate = np.minimum(demand / MEANINGFUL_DEMAND_SCORE, 1.0)
    terms = {
        "demand": gate * wd * demand,
        "profitability": gate * wp * profitability,
        "low_competition": gate * wc * (100 - competition),
    }
    return np.clip(sum(terms.values()), 0, 100), terms


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
    demand_score, demand_terms = _demand(prep, price, paid)
    # Units at this price: category units at the local reference price x price response x share.
    potential_units = (
        prep.market_size_usd_month
        / prep.reference_price
        * price_response(paid, prep.reference_price, e)
        * prep.delivery_factor
    )
    units = potential_units * prep.share
    total_cost = unit_cost + prep.seller_freight + PAYMENT_FEE_FIXED_USD + cac_per_unit
    unit_margin = price * (1 - prep.fee_rate) - total_cost
    profit = units * unit_margin
    margin_rate = unit_margin / price
    recommended, above_market = recommended_price(
        total_cost, prep.fee_rate, prep.buyer_freight, e, prep.price_anchor
    )
    profitability, margin_points, volume_points = _profitability(margin_rate, profit)
    opportunity, opp_terms = _opportunity(weights, demand_score, profitability, prep.competition)
    sigma = prep.ca.sigma
    cols: dict[str, np.ndarray] = {
        "demand_score": demand_score,
        "competition_index": prep.competition,
        "profitability_score": profitability,
        "opportunity_score": opportunity,
        "expected_units_month": units,
        "expected_units_low": units * np.exp(-Z80 * sigma),
        "expected_units_high": units * np.exp(Z80 * sigma),
        "expected_revenue_usd_month": units * price,
        "recommended_price_usd": recommended,
        "loss_making": unit_margin < 0,  # every sale in this city loses money at this price and cost
        "price_above_market": above_market,
        **_data_columns(prep),
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


def _data_columns(prep: Prepared) -> dict[str, np.ndarray]:
    """The price-independent data behind the scores, as ranking columns."""
    return {
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
    }
