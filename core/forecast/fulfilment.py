"""Fulfilment: how far each city is from where the goods ship, how long a parcel takes, what it costs and
which fees and duties apply (docs/methodology.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.forecast.categories import Category
from core.forecast.cities import CityArrays, Origin
from core.forecast.pricing import PRICE_LEVEL_PASS_THROUGH
from core.places.geo import haversine_km

DELIVERY_ELASTICITY = 0.5  # demand ~ (1 + days) ** -0.5
LPI_REFERENCE = 4.0  # parcel transit times of the delivery bands hold at this logistics performance
LPI_DAYS_FACTOR = (0.8, 2.0)  # bounds of the delivery-time multiplier LPI_REFERENCE / LPI
REFERENCE_DELIVERY_DAYS = 2.0
CROSS_BORDER_DAYS = 3.0
PAYMENT_FEE_PCT = 2.9  # card processing: percentage part (Stripe's published US standard rate)
PAYMENT_FEE_FIXED_USD = 0.30  # card processing: fixed part per order
FOOD_CATEGORY_ID = 412  # Food, Beverages & Tobacco: outside the "non_food" (industrial goods) agreements


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


@dataclass(frozen=True)
class Fulfilment:
    distance_km: np.ndarray
    delivery_days: np.ndarray
    delivery_factor: np.ndarray  # demand relative to delivery in REFERENCE_DELIVERY_DAYS
    shipping_cost: np.ndarray  # the parcel's price to this city, whoever pays it
    cross_border: np.ndarray
    fee_rate: np.ndarray  # fraction of price: card fee + duty where cross-border and not duty-free


def fulfilment(ca: CityArrays, origin: Origin | None, cat: Category) -> Fulfilment:
    """Distance, transit days (slower where the destination's logistics perform worse), parcel price and
    fee rate for every city, from ``origin`` or (None) from each country's own hub."""
    ship, _, _ = _shipping_tables()
    rates = ship.loc[cat.weight_class]
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
    delivery_factor = ((1 + REFERENCE_DELIVERY_DAYS) / (1 + days)) ** DELIVERY_ELASTICITY
    dutiable = cross & ~duty_free(origin.iso2, ca.iso2, cat.id) if origin is not None else cross
    fee_rate = PAYMENT_FEE_PCT / 100 + dutiable * cat.duty_pct / 100
    return Fulfilment(dist, days, delivery_factor, shipping, cross, fee_rate)
