"""The forecast engine: rank every city for a product (docs/methodology.md explains each line).

Pure and vectorised: numpy over all ~34k cities at once, no database, no network, no UI.
Two stages keep what-if sliders fast:

- ``prepare(cities, product)`` computes everything that does not depend on price, unit cost,
  acquisition cost or weights (buyers, spend, fulfilment, competition);
- ``evaluate(prepared, price=..., unit_cost=..., weights=...)`` computes the rest.

``rank(evaluation, ...)`` turns an evaluation into the ranked table shown everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from core import paths
from core.errors import InputError
from core.forecast import season
from core.forecast.categories import AGE_BANDS, Category, parse_age_bands, resolve_category
from core.forecast.understanding import Understanding, understand
from core.places.climate import monthly_temperature
from core.places.geo import haversine_km
from core.places.names import cities_called
from core.text import control_character, fold

# --- global parameters (docs/methodology.md, "Parameters"); each is a documented assumption ---
# Inside a country, the share of the cross-country income gradient that applies to a region's income
# ratio (adoption in the data build, spend per buyer here): docs/methodology.md section 2, "Within a country".
WITHIN_COUNTRY_INCOME_SHARE = 0.3
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
PRICE_CLIP = (2 / 3, 1.5)
PRICE_FLOOR_MARKUP = 1.05  # the recommended price never falls below 5 % over total unit cost, net of fees
FLAT_PROFIT_SHARE = 0.95  # the "good price range": prices earning at least 95 % of the best profit
SIGMA_BASE = 0.8  # log-sd of the model's error for a city with measured inputs
SIGMA_IMPUTED_ADOPTION = 0.4
SIGMA_INHERITED_INCOME = 0.3
Z80 = 1.2816  # low / high bounds are the 10th and 90th percentiles
SCORE_DECADES = 4.0  # log-scaled scores span four orders of magnitude below the best city
MEANINGFUL_DEMAND_SCORE = 50.0  # demand points (two decades below the best city) under which opportunity shrinks
MARGIN_FOR_FULL_SCORE = 0.5  # a 50 % contribution margin earns the full margin points
COMPETITION_WEIGHTS = {"maturity": 0.4, "merchant_density": 0.3, "market_depth": 0.3}
MERCHANT_DENSITY_TOP = 2e5  # secure servers per million at which merchant density reaches 1
AMBIGUITY_RATIO = 10.0  # a same-named city wins when it is 10x as populous as the next


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
SHIPPING_PAYER_LABELS = {"buyer": "The buyer, at checkout (price excludes shipping)", "seller": "You: free shipping"}


ClimateChoice = Literal["auto", "cold", "warm", "none"]
CLIMATE_CHOICES: tuple[str, ...] = get_args(ClimateChoice)
CLIMATE_LABELS = {"auto": "Read it from the name and description", "cold": "Cold-weather product (sells where and when it is cold)",
                  "warm": "Warm-weather product (sells where and when it is hot)", "none": "No climate affinity"}  # fmt: skip


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
                raise InputError(f"{value!r} is not a list of months (e.g. 11-1 or 11,12, or none)", field="season_months")
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
    launch_month: int | None = Field(None, ge=1, le=12)  # rank by this month's sales (None: the average month)

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
STORED_PRODUCT_DEFAULTS: dict[str, object] = {"shipping_paid_by": "seller", "climate": "none", "season_months": []}


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


# --- the city table as arrays ---------------------------------------------------------------
@dataclass(frozen=True)
class Origin:
    label: str
    iso2: str
    lat: float
    lon: float


@dataclass(frozen=True, repr=False)
class CityArrays:
    """Column arrays of the city table, prepared once per process (cached by the caller)."""

    frame: pd.DataFrame
    city_id: np.ndarray
    population: np.ndarray
    adults: np.ndarray
    online_buyers: np.ndarray
    income_ppp: np.ndarray  # income that drives demand: country level x damped regional ratio (city_arrays)
    city_size: np.ndarray  # urban-scaling factor of income per head (docs/data.md)
    price_level: np.ndarray
    age_shares: np.ndarray  # (n, 6): share of adults in each band
    world_age_shares: np.ndarray  # (6,): population-weighted mean of age_shares
    lat: np.ndarray
    lon: np.ndarray
    iso2: np.ndarray
    names: np.ndarray
    regions: np.ndarray
    logistics: np.ndarray
    hub_lat: np.ndarray  # each city's domestic fulfilment hub: its country's most populous city
    hub_lon: np.ndarray
    online_pct: np.ndarray
    servers: np.ndarray
    sigma: np.ndarray
    reference_income: float
    medians: dict[str, float] = field(default_factory=dict)  # of the product-independent log terms
    sections: pd.DataFrame = field(default_factory=pd.DataFrame)  # districts folded into a city
    iso2_to_iso3: dict[str, str] = field(default_factory=dict)
    origin_cache: dict[str, Origin | None] = field(default_factory=dict)
    # Climate (core.places.climate): Köppen-Geiger zone and the month-by-month mean temperature (n, 12).
    koppen: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    monthly_temp: np.ndarray = field(default_factory=lambda: np.zeros((0, 12)))

    def __repr__(self) -> str:
        return f"CityArrays({self.city_id.size} cities)"


def city_arrays(cities: pd.DataFrame, within_country_share: float = WITHIN_COUNTRY_INCOME_SHARE) -> CityArrays:
    """Turn the city table (core.db.repo.load_cities) into arrays for the engine.

    Districts folded into their city (rows with a ``parent_city_id``, docs/data.md "One row per city")
    are kept aside in ``sections`` for name matching; every number uses the cities only.
    ``within_country_share``: the share of a region's income ratio that drives spend (methodology section
    2); the shipped value unless a measurement asks what another would give (bench/within_country.py).
    """
    c = cities.sort_values("city_id").reset_index(drop=True)
    sections = pd.DataFrame(columns=["city_id", "name", "ascii_name", "country_iso2", "admin1", "admin1_code", "parent_city_id"])
    if "parent_city_id" in c.columns:
        folded = c["parent_city_id"].notna()
        sections = c.loc[folded, sections.columns].astype({"parent_city_id": "int64"}).reset_index(drop=True)
        c = c[~folded].reset_index(drop=True)
    pop = c["population"].to_numpy(float)
    adults = pop * c["adult_pct"].to_numpy(float) / 100
    ages = c[[f"age_{b}_pct" for b in AGE_BANDS]].to_numpy(float)
    shares = ages / ages.sum(axis=1, keepdims=True)
    world = (shares * pop[:, None]).sum(axis=0) / pop.sum()
    us = c["country_iso3"].to_numpy() == "USA"
    # Income that drives demand: the country's level, and a damped share of the region's ratio to it
    # (WITHIN_COUNTRY_INCOME_SHARE); the sourced regional income stays in the table as it is.
    ratio = c["region_income_ratio"].to_numpy(float) if "region_income_ratio" in c else np.ones(len(c))
    demand_income = c["gdp_per_capita_ppp"].to_numpy(float) / ratio * ratio**within_country_share
    # Reference income: the US (where category spend is measured), population-weighted.
    ref = float(np.average(demand_income[us], weights=pop[us])) if us.any() else 1.0
    imputed_adoption = c["online_buyers_pct_flag"].to_numpy() == "imputed"
    weak_income = np.isin(c["income_flag"].to_numpy(), ["inherited", "imputed"])
    sigma = np.sqrt(
        SIGMA_BASE**2
        + imputed_adoption * SIGMA_IMPUTED_ADOPTION**2
        + weak_income * SIGMA_INHERITED_INCOME**2
    )
    # Domestic hub: the most populous city of each country (where a domestic seller's stock sits).
    hubs = c.sort_values(["population", "city_id"], ascending=[False, True]).drop_duplicates("country_iso2")
    hub = hubs.set_index("country_iso2")
    koppen = c["koppen_zone"].fillna("").to_numpy(str) if "koppen_zone" in c else np.full(len(c), "")
    return CityArrays(
        frame=c,
        city_id=c["city_id"].to_numpy(np.int64),
        population=pop,
        adults=adults,
        online_buyers=adults * c["online_buyers_pct"].to_numpy(float) / 100,
        income_ppp=demand_income,
        city_size=c["city_size_factor"].to_numpy(float) if "city_size_factor" in c else np.ones(len(c)),
        price_level=c["price_level_ratio"].to_numpy(float),
        age_shares=shares,
        world_age_shares=world,
        lat=c["lat"].to_numpy(float),
        lon=c["lon"].to_numpy(float),
        iso2=c["country_iso2"].to_numpy(str),
        names=c["name"].to_numpy(object),
        regions=c["admin1"].to_numpy(object),
        logistics=c["logistics_index"].to_numpy(float),
        hub_lat=c["country_iso2"].map(hub["lat"]).to_numpy(float),
        hub_lon=c["country_iso2"].map(hub["lon"]).to_numpy(float),
        online_pct=c["online_buyers_pct"].to_numpy(float),
        servers=c["secure_servers_per_million"].to_numpy(float),
        sigma=sigma,
        reference_income=ref,
        medians={
            "log_online_buyers": float(np.median(np.log(np.maximum(adults * c["online_buyers_pct"].to_numpy(float) / 100, 1e-9)))),
            "log_income_ratio": float(np.median(np.log(demand_income / ref))),
            "log_price_level": float(np.median(np.log(c["price_level_ratio"].to_numpy(float)))),
            "log_city_size": float(np.median(np.log(c["city_size_factor"].to_numpy(float)))) if "city_size_factor" in c else 0.0,
        },
        iso2_to_iso3=dict(zip(c["country_iso2"], c["country_iso3"], strict=False)),
        sections=sections,
        koppen=koppen,
        monthly_temp=monthly_temperature(koppen, c["lat"].to_numpy(float)),
    )


# --- ships-from ---------------------------------------------------------------------------
def resolve_origin(text: str | None, ca: CityArrays) -> Origin | None:
    """Resolve "Istanbul, TR", "Istanbul" or "TR" to a location; None means local fulfilment.

    A country resolves to its most populous city. Unknown or ambiguous names raise InputError
    with suggestions. Results are remembered per city table.
    """
    if text is None or not text.strip():
        return None
    key = text.strip()
    if key not in ca.origin_cache:
        ca.origin_cache[key] = _resolve_origin(key, ca)
    return ca.origin_cache[key]


def _resolve_origin(text: str, ca: CityArrays) -> Origin:
    f = ca.frame
    parts = [p.strip() for p in text.split(",") if p.strip()]
    iso = {i.upper() for i in f["country_iso2"].unique()}
    iso3 = {v.upper(): k for k, v in ca.iso2_to_iso3.items()}

    def to_iso2(code: str) -> str | None:
        code = code.upper()
        return code if code in iso else iso3.get(code)

    def pick(rows: pd.DataFrame) -> Origin:
        r = rows.sort_values(["population", "city_id"], ascending=[False, True]).iloc[0]
        return Origin(f"{r['name']}, {r['country_iso2']}", r["country_iso2"], float(r["lat"]), float(r["lon"]))

    if len(parts) == 1 and to_iso2(parts[0]) and len(parts[0]) in (2, 3):
        code = to_iso2(parts[0])
        return pick(f[f["country_iso2"] == code])
    country = None
    if len(parts) >= 2:
        country = to_iso2(parts[-1])
        if country is None:
            raise InputError(f"unknown country code {parts[-1]!r} in ships-from; use ISO codes like TR or TUR", field="ships_from")
    name = fold(parts[0])
    rows = f[(f["ascii_name"] == name) | (f["name"].str.lower() == parts[0].lower())]
    if rows.empty or (country and not (rows["country_iso2"] == country).any()):
        rows = f[f["city_id"].isin(cities_called(name))]  # alternate names: "Cologne" -> Köln
    if country:
        rows = rows[rows["country_iso2"] == country]
    if len(parts) == 3:
        rows = rows[rows["admin1"].map(fold) == fold(parts[1])]
    if rows.empty:
        pool = f if country is None else f[f["country_iso2"] == country]
        near = pool[pool["ascii_name"].str.startswith(name[:3])].nlargest(5, "population")
        hint = "; ".join(f"{r.name}, {r.country_iso2}" for r in near.itertuples()) or "none"
        raise InputError(f"unknown ships-from city {text!r}; did you mean: {hint}", field="ships_from")
    pops = np.sort(rows["population"].to_numpy())[::-1]
    # Several places share the name: accept the largest only when it dwarfs the next (Paris, FR
    # over Paris, Texas); otherwise ask for the region or country.
    if len(pops) > 1 and pops[0] < AMBIGUITY_RATIO * pops[1]:
        top = rows.nlargest(5, "population")
        hint = "; ".join(f"{r.name}, {r.admin1}, {r.country_iso2}" for r in top.itertuples())
        raise InputError(
            f"ships-from city {text!r} is ambiguous; write it as City, Region, CC, e.g.: {hint}",
            field="ships_from",
        )
    return pick(rows)


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


def prepare(ca: CityArrays, product: ProductInput) -> Prepared:
    """Everything about the product and the cities that does not depend on price or costs."""
    cat = product.category_row()
    origin = resolve_origin(product.ships_from, ca)
    # Spend per buyer: category spend at the reference income, scaled by income ^ elasticity,
    # converted to US dollars at the local price level.
    income_ratio = ca.income_ppp / ca.reference_income
    spend_real = cat.annual_online_spend_per_buyer_usd * (income_ratio * ca.city_size) ** cat.income_elasticity
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
    fee_rate = PAYMENT_FEE_PCT / 100 + cross * cat.duty_pct / 100

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
        ca=ca, product=product, category=cat, origin=origin,
        online_buyers=ca.online_buyers, spend_per_buyer_usd_year=spend_usd,
        market_size_usd_month=market, reference_price=ref_price, age_fit=age_fit,
        climate_fit=climate_fit, month_factor=month_factor, seasonal_profile=profile_by_month,
        distance_km=dist, delivery_days=days, delivery_factor=delivery_factor,
        shipping_cost=shipping, buyer_freight=shipping if buyer_pays else np.zeros_like(shipping),
        seller_freight=np.zeros_like(shipping) if buyer_pays else shipping, cross_border=cross, fee_rate=fee_rate,
        competition=competition, competition_terms=comp_terms, share=share, log_terms=log_terms,
        flat_terms=frozenset(k for k, v in log_terms.items() if v is zeros),
        # Medians of monotone transforms of city-table columns come precomputed with the table.
        log_term_medians={
            "online_buyers": ca.medians["log_online_buyers"],
            "income": cat.income_elasticity * ca.medians["log_income_ratio"],
            "city_size": cat.income_elasticity * ca.medians["log_city_size"],
            "price_level": (1 - PRICE_LEVEL_PASS_THROUGH) * ca.medians["log_price_level"],
            "age_fit": float(np.median(log_terms["age_fit"])),
            "climate": float(np.median(log_terms["climate"])) if product.climate in season.CLIMATE_FLOOR else 0.0,
            "season": float(np.median(log_terms["season"])) if product.launch_month else 0.0,
            "delivery": float(np.median(log_terms["delivery"])),
        },
        median_log_reference_price=float(np.median(np.log(ref_price))),
    )  # fmt: skip


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
    cost: float | np.ndarray, fee_rate: float | np.ndarray, buyer_freight: float | np.ndarray, elasticity: float
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
        float(np.median(price_term)) if prep.product.shipping_paid_by == "buyer"
        else -e * (np.log(price) - prep.median_log_reference_price)
    )  # fmt: skip
    medians = dict(prep.log_term_medians, price=price_median)
    demand_terms = {k: (100 * (v - medians[k]) / span if k in active else v) for k, v in log_demand_parts.items()}

    # Units at this price: category units at the local reference price x price response x share.
    potential_units = (
        prep.market_size_usd_month / prep.reference_price * price_response(paid, prep.reference_price, e)
        * prep.delivery_factor
    )  # fmt: skip
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
    clipped = np.clip(best, PRICE_CLIP[0] * prep.reference_price, PRICE_CLIP[1] * prep.reference_price)
    floor = total_cost * PRICE_FLOOR_MARKUP / (1 - prep.fee_rate)
    recommended = np.maximum(clipped, floor)
    # Costs force a price above the market range: selling here means pricing out of the local market.
    above_market = floor > PRICE_CLIP[1] * prep.reference_price

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
    "rank", "city_id", "city", "region", "country_iso2", "lat", "lon", "population",
    "demand_score", "competition_index", "profitability_score", "opportunity_score",
    "expected_units_month", "expected_units_low", "expected_units_high",
    "expected_revenue_usd_month", "recommended_price_usd",
]  # fmt: skip


def positions(ca: CityArrays, ids: object) -> np.ndarray:
    """Where cities (GeoNames ids, any order) sit in the prepared arrays: a binary search, since the
    arrays are sorted by city id. InputError for an id that is not a city of the table."""
    ids = np.asarray(ids, dtype=np.int64).ravel()
    pos = np.searchsorted(ca.city_id, ids)
    if ids.size and (pos.max() >= ca.city_id.size or not np.array_equal(ca.city_id[pos], ids)):
        raise InputError("unknown city id in the request", field="city_id")
    return pos


def city_info(ca: CityArrays, ids: object, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """City, region, ISO code, position and population (plus ``extra`` columns) for city ids, in order."""
    pos = positions(ca, ids)
    out = {"city": ca.names[pos], "region": ca.regions[pos], "country_iso2": ca.iso2[pos], "lat": ca.lat[pos],
           "lon": ca.lon[pos], "population": ca.population[pos]}  # fmt: skip
    out.update({c: ca.frame[c].to_numpy()[pos] for c in extra})
    return pd.DataFrame(out)


def scope_mask(ca: CityArrays, countries: list[str] | None) -> np.ndarray:
    """Cities in the given countries (ISO2 or ISO3 codes); all cities when None or empty."""
    if not countries:
        return np.ones(ca.city_id.shape, dtype=bool)
    iso3_to_2 = {v: k for k, v in ca.iso2_to_iso3.items()}
    wanted = set()
    for code in countries:
        c = code.strip().upper()
        if c in ca.iso2_to_iso3:
            wanted.add(c)
        elif c in iso3_to_2:
            wanted.add(iso3_to_2[c])
        else:
            raise InputError(f"unknown country code {code!r}; use ISO 3166 codes such as BR or USA", field="countries")
    return np.isin(ca.iso2, list(wanted))


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
    data["best_months"] = pd.Series(season.best_months_of(ev.prepared.seasonal_profile[idx]), dtype=object, copy=False)
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
    ref = prep.reference_price[idx]
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
    return {"good_price_low_usd": np.where(ok, low, np.nan), "good_price_high_usd": np.where(ok, high, np.nan)}


def rank_product(
    cities: pd.DataFrame | CityArrays,
    product: ProductInput,
    countries: list[str] | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Rank cities for a product in one call (prepare + evaluate + rank)."""
    ca = cities if isinstance(cities, CityArrays) else city_arrays(cities)
    return rank(evaluate(prepare(ca, product)), countries=countries, top=top)
