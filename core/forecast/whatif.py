"""What-if curves and aggregations over an evaluation (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.forecast import (
    ANCHOR_RATIO,
    PRICE_CLIP,
    Evaluation,
    Prepared,
    price_response,
    scope_mask,
    stored_product,
)


def price_grid(current: float, reference: float, n: int = 80) -> np.ndarray:
    """Prices from 30 % of the lower to 250 % of the higher of the current and reference price."""
    lo = 0.3 * min(current, reference)
    hi = 2.5 * max(current, reference)
    return np.unique(np.concatenate([np.geomspace(lo, hi, n), [current]]))


def price_curve(ev: Evaluation, idx: np.ndarray, prices: np.ndarray) -> pd.DataFrame:
    """Units, revenue and profit per month summed over cities ``idx`` at each price.

    Exact under the model: units scale as ((P + s) / (P0 + s)) ** -e with s the buyer-paid freight
    (``core.forecast.buyer_price``; 0 when the seller pays), unit costs do not depend on price and the fee
    is proportional to price.
    """
    e = ev.prepared.category.price_elasticity
    c = ev.columns
    units0 = c["expected_units_month"][idx]
    cost = c["total_unit_cost_usd"][idx]
    fee = c["fee_rate"][idx]
    freight = ev.prepared.buyer_freight[idx][None, :]
    scale = price_response(prices[:, None] + freight, ev.price + freight, e)
    units = units0[None, :] * scale
    revenue = units * prices[:, None]
    profit = units * (prices[:, None] * (1 - fee[None, :]) - cost[None, :])
    return pd.DataFrame(
        {"price": prices, "units": units.sum(1), "revenue": revenue.sum(1), "profit": profit.sum(1)}
    )


def price_anchor_note(prep: Prepared) -> str:
    """What the recommended prices are bounded around, in words (``core.forecast.price_anchor_of``)."""
    cat, price = prep.category, prep.product.price
    lo, hi = PRICE_CLIP
    if prep.anchor_source == "product":
        return (
            f"Recommended prices stay within {lo:.2f}-{hi:.1f}x your own price (${price:,.2f}) at each city's price "
            f"level: it is {price / cat.typical_price_usd:.1f}x the {cat.name} category's typical "
            f"${cat.typical_price_usd:,.0f}, so the product is taken to sell in a price segment of its own."
        )
    return (
        f"Recommended prices stay within {lo:.2f}-{hi:.1f}x the {cat.name} category's typical price "
        f"(${cat.typical_price_usd:,.0f}, an assumption) at each city's price level; your price "
        f"(${price:,.2f}) is within {ANCHOR_RATIO:g}x of it."
    )


def best_price(curve: pd.DataFrame) -> float:
    """The price on the curve with the highest profit."""
    return float(curve.loc[curve["profit"].idxmax(), "price"])


def area_totals(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Totals per area (country, or country and region) of a ranking, with the same definitions as the
    headline (``headline_metrics``): units and revenue summed; profit over the cities that make money,
    losses apart; the best and the mean opportunity score. The one aggregation behind the country chart,
    the choropleths and the headline, so they always agree."""
    loss = table["loss_making"].astype(bool)  # the engine's flag, as in headline_metrics
    profit = table["profit_usd_month"]
    g = table.assign(
        _profit=profit.where(~loss, 0.0), _loss=profit.where(loss, 0.0), _loss_city=loss
    ).groupby(keys, sort=False)
    return pd.DataFrame(
        {
            "cities": g.size(),
            "expected_units_month": g["expected_units_month"].sum(),
            "expected_revenue_usd_month": g["expected_revenue_usd_month"].sum(),
            "profit_usd_month": g["_profit"].sum(),
            "loss_usd_month": g["_loss"].sum(),
            "loss_cities": g["_loss_city"].sum().astype(int),
            "best_opportunity_score": g["opportunity_score"].max(),
            "mean_opportunity_score": g["opportunity_score"].mean(),
        }
    ).reset_index()


def country_summary(table: pd.DataFrame) -> pd.DataFrame:
    """``area_totals`` per country, largest revenue first."""
    return (
        area_totals(table, ["country_iso2"])
        .sort_values("expected_revenue_usd_month", ascending=False)
        .reset_index(drop=True)
    )


def filter_ranking(
    table: pd.DataFrame,
    countries: list[str] | None = None,
    regions: list[str] | None = None,
    min_population: float = 0.0,
) -> pd.DataFrame:
    """The ranking restricted to countries (ISO2), regions and a minimum population; order kept."""
    mask = table["population"] >= min_population
    if countries:
        mask &= table["country_iso2"].isin(countries)
    if regions:
        mask &= table["region"].isin(regions)
    return table.loc[mask].reset_index(drop=True)


SCORE_PARTS: dict[str, list[tuple[str, str]]] = {
    "Demand score": [
        ("demand_term_online_buyers", "Online buyers"),
        ("demand_term_income", "Income (spend per buyer)"),
        ("demand_term_city_size", "City size (urban scaling)"),
        ("demand_term_price_level", "Local price level"),
        ("demand_term_age_fit", "Age fit"),
        ("demand_term_climate", "Climate fit (the product's climate affinity)"),
        ("demand_term_season", "Launch month (season)"),
        ("demand_term_delivery", "Delivery time"),
        ("demand_term_price", "Price paid (incl. buyer-paid shipping) vs local reference"),
    ],
    "Competition index": [
        ("competition_term_maturity", "E-commerce maturity"),
        ("competition_term_merchant_density", "Merchant density (proxy)"),
        ("competition_term_market_depth", "Market depth"),
    ],
    "Profitability score": [
        ("profitability_term_margin", "Unit margin"),
        ("profitability_term_volume", "Profit volume"),
    ],
    "Opportunity score": [
        ("opportunity_term_demand", "Weighted demand"),
        ("opportunity_term_profitability", "Weighted profitability"),
        ("opportunity_term_low_competition", "Weighted low competition"),
    ],
}


def score_breakdown(row: pd.Series) -> pd.DataFrame:
    """Every score of one city split into its named terms (points).

    Demand terms are points relative to the median city; the other scores' terms add up to the score. A
    term a stored forecast predates (it was computed without it) is left out.
    """
    records = []
    for score, parts in SCORE_PARTS.items():
        for col, label in parts:
            if col in row.index and row[col] == row[col]:  # present and not NaN
                records.append({"score": score, "term": label, "points": float(row[col])})
    return pd.DataFrame(records)


def headline_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Totals over the shown cities: units, revenue, the profit of the profitable cities and, apart,
    the losses of the cities that lose money at this price and cost (never netted into the profit)."""
    loss = table["loss_making"].astype(bool)  # the engine's flag: one definition of "loses money"
    return {
        "cities": float(len(table)),
        "units": float(table["expected_units_month"].sum()),
        "units_low": float(table["expected_units_low"].sum()),
        "units_high": float(table["expected_units_high"].sum()),
        "revenue": float(table["expected_revenue_usd_month"].sum()),
        "profit": float(table.loc[~loss, "profit_usd_month"].sum()),
        "loss": float(table.loc[loss, "profit_usd_month"].sum()),
        "loss_cities": float(loss.sum()),
        "above_market_cities": float(table["price_above_market"].astype(bool).sum())
        if "price_above_market" in table
        else 0.0,
    }


MARKET_COLUMNS = (
    "expected_units_month",
    "expected_units_low",
    "expected_units_high",
    "expected_revenue_usd_month",
    "profit_usd_month",
    "loss_making",
    "price_above_market",
)


def market_cities(
    ev: Evaluation,
    n: int,
    scope: list[str] | None = None,
    countries: list[str] | None = None,
    regions: list[str] | None = None,
    min_population: float = 0.0,
) -> pd.DataFrame:
    """The fixed city set the headline totals sum over: the ``n`` cities in the forecast's scope and the
    page's filters (as ``filter_ranking``) with the most expected units, at this price and cost.

    It does not depend on the score weights, which only reorder the ranking: moving a weight slider changes
    which city is first, never the market the headline measures. Columns: ``MARKET_COLUMNS``, city and
    country, largest expected units first.
    """
    ca = ev.prepared.ca
    mask = scope_mask(ca, scope) & (ca.population >= min_population)
    if countries:
        mask &= np.isin(ca.iso2, countries)
    if regions:
        mask &= np.isin(ca.regions, regions)
    idx = np.flatnonzero(mask)
    units = ev.columns["expected_units_month"][idx]
    if 0 < n < idx.size:
        idx = idx[np.argpartition(-units, n - 1)[:n]]
    idx = idx[np.lexsort((ca.city_id[idx], -ev.columns["expected_units_month"][idx]))]
    data = {"city_id": ca.city_id[idx], "city": ca.labels[idx], "country_iso2": ca.iso2[idx]}
    data.update({c: ev.columns[c][idx] for c in MARKET_COLUMNS})
    return pd.DataFrame(data)


def compare_rankings(a: pd.DataFrame, b: pd.DataFrame, top: int = 50) -> pd.DataFrame:
    """Cities in the top ``top`` of either ranking, with both ranks and the change (positive = up in B).

    A city missing from one stored ranking has no rank there (NaN) and no change.
    """
    cols = ["city_id", "city", "country_iso2", "rank", "opportunity_score", "expected_units_month"]
    left = a[cols].rename(
        columns={"rank": "rank_a", "opportunity_score": "opportunity_a", "expected_units_month": "units_a"}
    )
    right = b[cols].rename(
        columns={"rank": "rank_b", "opportunity_score": "opportunity_b", "expected_units_month": "units_b"}
    )
    both = left.merge(right, on=["city_id", "city", "country_iso2"], how="outer")
    both = both[(both["rank_a"] <= top) | (both["rank_b"] <= top)]
    both["rank_change"] = both["rank_a"] - both["rank_b"]
    both["best"] = both[["rank_a", "rank_b"]].min(axis=1)
    return both.sort_values(["best", "city_id"]).drop(columns="best").reset_index(drop=True)


INPUT_FIELDS = [
    ("name", "Product"),
    ("category", "Category"),
    ("price", "Price (US$)"),
    ("unit_cost", "Unit cost (US$)"),
    ("target_ages", "Target ages"),
    ("ships_from", "Ships from"),
    ("shipping_paid_by", "Shipping paid by"),
    ("weights", "Score weights"),
]


def input_differences(params_a: dict, params_b: dict) -> list[dict]:
    """The inputs two stored forecasts differ in (product fields, weights, scope): field, A, B."""
    pa, pb = stored_product(params_a.get("product", {})), stored_product(params_b.get("product", {}))
    rows = []
    for key, label in INPUT_FIELDS:
        a, b = pa.get(key), pb.get(key)
        if a != b:
            rows.append({"input": label, "A": _show(a), "B": _show(b)})
    ca, cb = params_a.get("countries") or [], params_b.get("countries") or []
    if sorted(ca) != sorted(cb):
        rows.append({"input": "Countries", "A": ", ".join(ca) or "world", "B": ", ".join(cb) or "world"})
    return rows


def _show(value: object) -> str:
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


POPULATION_RANK_SHARE = 0.9  # a country's ranking "rests mostly on population" above this rank correlation
MIN_CITIES_FOR_POPULATION_NOTE = 20


def rests_on_population(table: pd.DataFrame) -> list[tuple[str, float]]:
    """Countries of the table (with at least ``MIN_CITIES_FOR_POPULATION_NOTE`` cities) whose in-country
    ranking by expected units follows population with a Spearman correlation of ``POPULATION_RANK_SHARE``
    or more: there the ranking says little beyond city size (methodology section 2, "Within a country")."""
    out = []
    for iso, part in table.groupby("country_iso2"):
        if len(part) >= MIN_CITIES_FOR_POPULATION_NOTE:
            rho = float(part["expected_units_month"].rank().corr(part["population"].rank()))
            if rho >= POPULATION_RANK_SHARE:
                out.append((str(iso), rho))
    return sorted(out, key=lambda x: -x[1])
