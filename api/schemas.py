"""The API's request and response shapes: what a client sends (strict pydantic models), the errors every
operation declares, and the city fields a ranking returns."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.forecast import ClimateChoice, ProductInput, ShippingPayer
from core.forecast.categories import all_categories
from core.render import exports, reports

# What a client gets per city: the ranking's headline columns (every column is in the CSV export).
CITY_FIELDS = [
    "rank",
    "city_id",
    "city",
    "region",
    "country_iso2",
    "lat",
    "lon",
    "population",
    "opportunity_score",
    "demand_score",
    "competition_index",
    "profitability_score",
    "expected_units_month",
    "expected_units_low",
    "expected_units_high",
    "expected_revenue_usd_month",
    "profit_usd_month",
    "unit_margin_usd",
    "recommended_price_usd",
    "good_price_low_usd",
    "good_price_high_usd",
    "delivery_days",
    "loss_making",
    "price_above_market",
    "climate_zone",
    "climate_fit",
    "season_factor",
    "best_months",
]

CATEGORY_VALUES = tuple(c.name for c in all_categories()) + tuple(str(c.id) for c in all_categories())
REPORT_TYPES = tuple(reports.report_types())


class ErrorOut(BaseModel):
    """Every error the API answers: one message that says what to fix."""

    detail: str = Field(examples=["price: Input should be greater than 0"])


ERRORS = {  # declared on every operation: what the API can answer besides success (issue 24, item 8)
    400: {"model": ErrorOut, "description": "Bad request"},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "The plan has no API access, or a plan limit is reached"},
    404: {"model": ErrorOut, "description": "Not found, or not yours"},
    413: {"model": ErrorOut, "description": "Request body over the size limit"},
    422: {"model": ErrorOut, "description": "Invalid input: the message names the field"},
    429: {"model": ErrorOut, "description": "Over the plan's requests a minute (Retry-After says when)"},
    500: {"model": ErrorOut, "description": "Unexpected error (the message has a reference for the log)"},
    502: {"model": ErrorOut, "description": "Stripe could not be reached or refused"},
    503: {"model": ErrorOut, "description": "The database is not available"},
}


class ForecastIn(BaseModel):
    """A product to forecast (the CLI's fields) and the scope. Strict types: a number is a JSON number (no
    "25" or true), text has no control characters (checked with the product)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=200, examples=["Bath towel set"])
    category: Literal[CATEGORY_VALUES] = Field(
        examples=["Home & Garden"],  # type: ignore[valid-type]
        description="a top-level Google product taxonomy category, by name or id",
    )
    price: float = Field(gt=0, le=1_000_000, examples=[25.0])
    unit_cost: float = Field(ge=0, le=1_000_000, examples=[10.0])
    description: str = Field("", max_length=5000)
    target_ages: list[str] = Field(default_factory=list, max_length=6, examples=[["25_34", "35_44"]])
    ships_from: str | None = Field(None, max_length=200, examples=["Istanbul, TR"])
    shipping_paid_by: ShippingPayer = Field(
        ProductInput.model_fields["shipping_paid_by"].default,
        description="buyer: the price excludes shipping (demand responds to price + parcel); seller: free shipping",
    )
    climate: ClimateChoice = Field(
        "auto",
        description="cold / warm-weather product, none, or auto: read from the "
        "name and description (the response's product says what was used)",
    )
    season_months: list[int] | None = Field(
        None,
        max_length=12,
        description="calendar season months, e.g. [11, 12] "
        "for Christmas; [] = none; null = read from the name and description",
    )
    launch_month: int | None = Field(
        None, ge=1, le=12, description="rank by this month's sales (null: the average month)"
    )
    countries: list[str] = Field(default_factory=list, max_length=250, description="ISO codes; empty = world")
    top: int | None = Field(None, ge=1, le=1000, description="cities to keep (at most the plan's)")


class AgentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    budget: float | None = Field(None, gt=0, le=10_000_000, description="monthly ad budget, USD")


class NewCityIn(BaseModel):
    """A city the shared table lacks: its name, country and position."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=120)
    country_iso2: str = Field(min_length=2, max_length=2, examples=["BR"])
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class CityFiguresIn(BaseModel):
    """Your figures (omit one to keep the table's); each needs its source note in ``sources``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    population: float | None = Field(None, description="people", allow_inf_nan=False)
    income_ppp: float | None = Field(
        None, description="income per head, US$ a year at PPP", allow_inf_nan=False
    )
    online_buyers_pct: float | None = Field(
        None, description="% of adults buying online", allow_inf_nan=False
    )
    price_level: float | None = Field(
        None, description="local price level, ratio to US prices", allow_inf_nan=False
    )


class CitySourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    population: str | None = Field(None, max_length=300)
    income_ppp: str | None = Field(None, max_length=300)
    online_buyers_pct: str | None = Field(None, max_length=300)
    price_level: str | None = Field(None, max_length=300)


class CustomCityIn(BaseModel):
    """Your own data for a city: name an existing one in ``city`` or add one in ``new_city``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    city: str | None = Field(None, min_length=1, max_length=200, examples=["Campinas, BR"])
    new_city: NewCityIn | None = None
    figures: CityFiguresIn
    sources: CitySourcesIn


class DeepReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    forecast_id: str = Field(min_length=1, max_length=64)
    report_type: Literal[REPORT_TYPES] = Field(
        "standard",  # type: ignore[valid-type]
        description="standard ($10), premium ($25) or enterprise ($50)",
    )


def json_value(v: Any) -> Any:
    """A numpy scalar as plain JSON (NaN and infinity as null)."""
    v = v.item() if hasattr(v, "item") else v
    return None if isinstance(v, float) and not math.isfinite(v) else v


def cities(table) -> list[dict]:
    """A ranking table as the API's list of cities (rounded as in the exports)."""
    cols = [c for c in CITY_FIELDS if c in table.columns]
    return [{k: json_value(v) for k, v in r.items()} for r in exports.rounded(table[cols]).to_dict("records")]
