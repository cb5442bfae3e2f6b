"""Supply Chain & FASON Advisor math: method, sourcing, landed cost, lead times, AQL, warehouse (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core import paths
from core.errors import InputError
from core.places.geo import haversine_km

# ISO 2859-1, general inspection level II: lot size upper bound -> (code letter, sample size).
AQL_LEVEL_II: tuple[tuple[int, str, int], ...] = (
    (8, "A", 2),
    (15, "B", 3),
    (25, "C", 5),
    (50, "D", 8),
    (90, "E", 13),
    (150, "F", 20),
    (280, "G", 32),
    (500, "H", 50),
    (1200, "J", 80),
    (3200, "K", 125),
    (10000, "L", 200),
    (35000, "M", 315),
    (150000, "N", 500),
    (500000, "P", 800),
    (math.inf, "Q", 1250),
)
# ISO 2859-1 Table II-A (single sampling, normal inspection), AQL 2.5: sample size -> (Ac, Re).
# Code letters A-C have an arrow down to D (n = 8); P and Q an arrow up to N's numbers.
AQL_25_ACCEPT: dict[int, tuple[int, int]] = {
    8: (0, 1),
    13: (1, 2),
    20: (1, 2),
    32: (2, 3),
    50: (3, 4),
    80: (5, 6),
    125: (7, 8),
    200: (10, 11),
    315: (14, 15),
    500: (21, 22),
}

DEFAULT_VAT_PCT = 15.0  # world median standard VAT rate (assumption), for countries not in the table


def aql_plan(lot_size: int) -> dict:
    """Code letter, sample size and AQL 2.5 accept/reject numbers for a lot (ISO 2859-1, level II)."""
    if lot_size < 2:
        raise InputError("a lot needs at least 2 units for sampling inspection", field="lot_size")
    letter, n = next((lt, sz) for upper, lt, sz in AQL_LEVEL_II if lot_size <= upper)
    plan_n = 8 if n < 8 else min(n, 500)
    ac, re = AQL_25_ACCEPT[plan_n]
    return {
        "lot_size": lot_size,
        "code_letter": letter,
        "sample_size": min(n, lot_size),
        "aql": 2.5,
        "plan_sample_size": min(plan_n, lot_size),
        "accept": ac,
        "reject": re,
    }


@cache
def _manufacturing() -> pd.DataFrame:
    return pd.read_csv(paths.DATA_DIR / "manufacturing.csv").set_index("category_id")


@cache
def _vat() -> pd.Series:
    return pd.read_csv(paths.DATA_DIR / "vat_rates.csv").set_index("iso2")["standard_vat_pct"]


def vat_pct(iso2: str) -> float:
    return float(_vat().get(iso2, DEFAULT_VAT_PCT))


@dataclass(frozen=True)
class MethodChoice:
    method: str
    reasons: list[str]


def choose_method(category_id: int, monthly_units: float, unit_cost: float) -> MethodChoice:
    """In-house, FASON (cut-make-trim), full-package OEM, print-on-demand or dropship, with reasons."""
    m = _manufacturing().loc[category_id]
    cx = int(m["complexity_1to5"])
    if category_id == 2092:
        return MethodChoice("in-house", ["software has no physical production; build it in-house"])
    if monthly_units < 50 and bool(m["pod_possible"]):
        return MethodChoice(
            "print-on-demand",
            [
                f"expected volume ({monthly_units:,.0f}/month) is below typical minimum order quantities",
                "the category allows print-on-demand: no inventory risk while demand is proven",
            ],
        )
    if monthly_units < 50:
        return MethodChoice(
            "dropship",
            [
                f"expected volume ({monthly_units:,.0f}/month) is below typical minimum order quantities",
                "dropshipping from an existing supplier avoids inventory until demand is proven",
            ],
        )
    if cx >= 4:
        return MethodChoice(
            "full-package OEM",
            [
                f"complexity {cx}/5: tooling, components and certification are best left to an OEM/ODM",
                f"{monthly_units:,.0f} units/month supports an OEM minimum order",
            ],
        )
    if category_id in (166, 536, 5181, 1) and monthly_units < 5000:
        return MethodChoice(
            "FASON (cut-make-trim)",
            [
                "you supply design and (optionally) fabric; a contract workshop cuts, sews and trims",
                f"{monthly_units:,.0f} units/month suits small-batch FASON runs with low MOQs",
            ],
        )
    if monthly_units >= 5000 and cx <= 2 and unit_cost < 20:
        return MethodChoice(
            "in-house",
            [
                f"high volume ({monthly_units:,.0f}/month) of a simple product (complexity {cx}/5)",
                "own production captures the margin once volume is stable",
            ],
        )
    return MethodChoice(
        "full-package OEM",
        [
            f"{monthly_units:,.0f} units/month at complexity {cx}/5: a full-package supplier buys materials and delivers finished goods"
        ],
    )


def sourcing_regions(category_id: int) -> list[str]:
    return str(_manufacturing().loc[category_id, "sourcing_regions"]).split(";")


def landed_cost(category_id: int, unit_cost: float, price: float, city: pd.Series | dict) -> dict:
    """Per-unit landed cost to one ranked city, from the forecast engine's own terms for that city.

    ``city`` is a row of the ranking (core.forecast.rank): its ``seller_freight_usd`` (the parcel to the
    customer when the seller pays it; 0 when the buyer pays shipping on top), ``fee_rate`` (card fee + duty when cross-border), ``cross_border``, ``delivery_days`` and
    ``distance_km`` are the numbers the ranking charged, so the advisor and "why this score" never
    disagree. Duty = price x (fee_rate - card fee), as the engine charges it. Import VAT is shown as cash
    paid at import (recoverable by a VAT-registered seller), not added.
    """
    from core.forecast import PAYMENT_FEE_PCT

    m = _manufacturing().loc[category_id]
    iso2 = str(city["country_iso2"])
    cross = bool(city["cross_border"])
    freight = float(city["seller_freight_usd"])  # the parcel when the seller pays it; 0 when the buyer does
    duty = max(0.0, price * (float(city["fee_rate"]) - PAYMENT_FEE_PCT / 100))
    vat = (unit_cost + freight + duty) * vat_pct(iso2) / 100 if cross else 0.0
    return {
        "materials_usd": unit_cost * float(m["materials_share"]),
        "labour_usd": unit_cost * float(m["labour_share"]),
        "overhead_usd": unit_cost * float(m["overhead_share"]),
        "freight_usd": freight,
        "buyer_freight_usd": float(city["buyer_freight_usd"]),
        "mode": "parcel",
        "distance_km": float(city["distance_km"]),
        "duty_usd": duty,
        "import_vat_usd": vat,
        "landed_cost_usd": unit_cost + freight + duty,
        "transit_days": float(city["delivery_days"]),
    }


def lead_time_days(category_id: int, monthly_units: float, transit_days: float) -> dict:
    m = _manufacturing().loc[category_id]
    production = float(m["production_days_small"] if monthly_units < 1000 else m["production_days_bulk"])
    return {
        "production_days": production,
        "transit_days": transit_days,
        "total_days": production + transit_days,
    }


def best_warehouse(candidates: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Rank candidate warehouse cities by demand-weighted mean distance to the demand cities.

    Both frames need lat, lon; ``demand`` needs weight (e.g. expected units). Lowest first.
    """
    w = demand["weight"].to_numpy(float)
    if w.sum() <= 0:
        raise InputError("no demand to place a warehouse for")
    dists = [
        float(
            np.average(
                haversine_km(r.lat, r.lon, demand["lat"].to_numpy(), demand["lon"].to_numpy()), weights=w
            )
        )
        for r in candidates.itertuples()
    ]
    return candidates.assign(weighted_km=dists).sort_values("weighted_km").reset_index(drop=True)


QC_CHECKLIST = {
    "default": [
        "Approve a pre-production sample (golden sample) and keep it sealed",
        "Check materials against the spec sheet before cutting or assembly",
        "Inline inspection at 20-30 % of production",
        "Final random inspection to the AQL plan below (critical 0, major 2.5, minor 4.0)",
        "Check labels, barcodes, care / safety marks and packaging drop test",
    ],
    166: [
        "Measure garments against the size chart (tolerance +/-1 cm)",
        "Check colour fastness and shrinkage after wash",
    ],
    222: [
        "Functional test of every unit or a full sample; check CE/FCC marking",
        "Battery transport documents (UN38.3)",
    ],
    1239: ["Small-parts and sharp-edge tests (EN 71-1 / ASTM F963)"],
    537: ["Safety certification for the target market (EN 71, CPSIA)"],
    412: ["Food-safety certificate (HACCP / ISO 22000) and shelf-life labels"],
    469: ["Product information file and GMP (ISO 22716); ingredient labelling"],
}


def qc_checklist(category_id: int) -> list[str]:
    return QC_CHECKLIST["default"] + QC_CHECKLIST.get(category_id, [])
