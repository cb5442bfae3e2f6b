"""Ranking: the evaluated cities in order of opportunity, as the table every page, export and API shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import InputError
from core.forecast import season
from core.forecast.cities import CityArrays, city_arrays, scope_mask
from core.forecast.engine import Evaluation, evaluate, prepare
from core.forecast.inputs import ProductInput
from core.forecast.pricing import good_price_range_of

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
        "city": ca.labels[idx],
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


def good_price_range(ev: Evaluation, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The good-price range (``pricing.good_price_range_of``) of the cities ``idx`` of an evaluation."""
    prep = ev.prepared
    return good_price_range_of(
        prep.price_anchor[idx],
        ev.columns["total_unit_cost_usd"][idx],
        prep.fee_rate[idx],
        prep.buyer_freight[idx],
        prep.category.price_elasticity,
    )


def rank_product(
    cities: pd.DataFrame | CityArrays,
    product: ProductInput,
    countries: list[str] | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Rank cities for a product in one call (prepare + evaluate + rank)."""
    ca = cities if isinstance(cities, CityArrays) else city_arrays(cities)
    return rank(evaluate(prepare(ca, product)), countries=countries, top=top)
