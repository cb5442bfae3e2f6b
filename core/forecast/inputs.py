"""The product to forecast: its inputs, their validation, and what a stored forecast predates
(docs/methodology.md sections 2b, 4 and 8). Part of the engine (core.forecast)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from core.errors import InputError
from core.forecast.categories import Category, parse_age_bands, resolve_category
from core.forecast.understanding import Understanding, understand
from core.text import control_character


class ScoreWeights(BaseModel):
    """Weights of the opportunity score; normalised to sum to one."""

    demand: float = Field(0.5, ge=0)
    profitability: float = Field(0.3, ge=0)
    competition: float = Field(0.2, ge=0, description="weight of low competition (100 - index)")

    @model_validator(mode="after")
    def _not_all_zero(self) -> ScoreWeights:
        if self.demand + self.profitability + self.competition <= 0:
            raise ValueError("at least one score weight must be above zero")
        return self

    def normalised(self) -> tuple[float, float, float]:
        total = self.demand + self.profitability + self.competition
        return self.demand / total, self.profitability / total, self.competition / total


# Who pays the parcel (docs/methodology.md, section 4): the choices every form, the API and the CLI offer;
# the first is the default (a form's first option is preselected).
ShippingPayer = Literal["buyer", "seller"]
SHIPPING_PAYERS: tuple[str, ...] = get_args(ShippingPayer)
SHIPPING_PAYER_LABELS = {
    "buyer": "The buyer, at checkout (price excludes shipping)",
    "seller": "You: free shipping",
}


ClimateChoice = Literal["auto", "cold", "warm", "none"]
CLIMATE_CHOICES: tuple[str, ...] = get_args(ClimateChoice)
CLIMATE_LABELS = {
    "auto": "Read it from the name and description",
    "cold": "Cold-weather product (sells where and when it is cold)",
    "warm": "Warm-weather product (sells where and when it is hot)",
    "none": "No climate affinity",
}


def parse_months(value: object) -> tuple[int, ...]:
    """Calendar months from ``"11-1"``, ``"11,12"``, ``[11, 12]``, ``"none"`` or ``""`` (none)."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "none", "no", "-"):
            return ()
        out: list[int] = []
        for part in text.replace(" ", "").split(","):
            lo, _, hi = part.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise InputError(
                    f"{value!r} is not a list of months (e.g. 11-1 or 11,12, or none)", field="season_months"
                )
            a, b = int(lo), int(hi or lo)
            if not (1 <= a <= 12 and 1 <= b <= 12):
                raise InputError("months are 1 to 12", field="season_months")
            out += [(a - 1 + k) % 12 + 1 for k in range((b - a) % 12 + 1)]
        return tuple(sorted(set(out)))
    if isinstance(value, list | tuple):
        if not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in value):
            raise InputError("months are whole numbers 1 to 12", field="season_months")
        return tuple(sorted(set(value)))
    raise InputError("give months as 11-1, 11,12 or none", field="season_months")


class ProductInput(BaseModel):
    """A product to forecast. Category by Google taxonomy id or name; prices in USD."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    category: str
    price: float = Field(gt=0, le=1_000_000)
    unit_cost: float = Field(ge=0, le=1_000_000)
    target_ages: tuple[str, ...] = ()
    ships_from: str | None = None
    # Who pays the parcel: "buyer" (the price excludes shipping, which the buyer adds at checkout, as on
    # most marketplaces) or "seller" (free shipping: the seller's cost). docs/methodology.md, section 4.
    shipping_paid_by: ShippingPayer = SHIPPING_PAYERS[0]  # type: ignore[assignment]
    weights: ScoreWeights = ScoreWeights()
    # What the product is (docs/methodology.md section 2b): "auto" / None are read from the name and
    # description (core.forecast.understanding) when the product is validated, so a stored product always
    # holds the values its forecast used; an analyst's correction is simply an explicit value.
    climate: ClimateChoice = "auto"  # type: ignore[assignment]
    season_months: tuple[int, ...] | None = None  # calendar season (Christmas: 11, 12); () = none
    product_type: str | None = Field(None, max_length=300)  # Google product taxonomy path, informative
    launch_month: int | None = Field(
        None, ge=1, le=12
    )  # rank by this month's sales (None: the average month)

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, v: object) -> str:
        try:
            return resolve_category(str(v)).name
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("target_ages", mode="before")
    @classmethod
    def _ages(cls, v: object) -> tuple[str, ...]:
        try:
            return parse_age_bands(v)  # type: ignore[arg-type]
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("ships_from", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if v is None or str(v).strip() == "" else str(v).strip()

    @field_validator("name", "description", "ships_from", "product_type")
    @classmethod
    def _printable(cls, v: str | None, info) -> str | None:
        """Text without control characters (a NUL byte cannot be stored in PostgreSQL); a name not blank."""
        if v is None:
            return v
        bad = control_character(v, allow_line_breaks=info.field_name == "description")
        if bad:
            raise ValueError(f"contains a control character ({bad}); remove it")
        if info.field_name == "name" and not v.strip():
            raise ValueError("enter a product name (not only spaces)")
        return v.strip() if info.field_name == "name" else v

    @field_validator("season_months", mode="before")
    @classmethod
    def _months(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and v.strip().lower() == "auto"):
            return None
        try:
            return parse_months(v)
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _understood(self) -> ProductInput:
        """Fill what the analyst left to the reading of the name and description."""
        if self.climate == "auto" or self.season_months is None or self.product_type is None:
            u = self.understanding()
            if self.climate == "auto":
                self.climate = u.climate  # type: ignore[assignment]
            if self.season_months is None:
                self.season_months = u.season_months
            if self.product_type is None:
                self.product_type = u.product_type
        return self

    def understanding(self) -> Understanding:
        """What the name and description say (cached: the same text is read once)."""
        return understand(self.name, self.description, self.category)

    @property
    def cost_warning(self) -> str | None:
        if self.unit_cost >= self.price:
            return (
                f"unit cost ${self.unit_cost:,.2f} is not below the price ${self.price:,.2f}: "
                "every sale loses money at this price"
            )
        return None

    def category_row(self) -> Category:
        return resolve_category(self.category)


# Inputs added after forecasts were first stored, with the value those older forecasts were made with: a
# stored product without the field re-opens as it was computed (core.service.product_from_params).
STORED_PRODUCT_DEFAULTS: dict[str, object] = {
    "shipping_paid_by": "seller",
    "climate": "none",
    "season_months": [],
}


def stored_product(fields: dict) -> dict:
    """A stored forecast's product fields, with the inputs it predates filled in as it was made."""
    return {**STORED_PRODUCT_DEFAULTS, **fields}


def validate_product(**fields: object) -> ProductInput:
    """Build a ProductInput, turning validation errors into one InputError naming the field."""
    from pydantic import ValidationError

    try:
        return ProductInput(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(f"{name.replace('_', ' ')}: {msg}" if name else msg, field=name) from exc
