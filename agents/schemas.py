"""Pydantic models: what each agent returns, and the narrative parts a writer fills in.

Numbers come only from the analytic cores in core/; writers fill the text fields.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class AgentMeta(BaseModel):
    writer: str = "template"  # "llm" or "template"
    duration_ms: float = 0.0
    tokens_used: int = 0
    notices: list[str] = Field(default_factory=list)
    city_set: int = 0  # how many of the ranking's top cities the agent worked on (the run's set, agents.context.city_count)


# --- narrative schemas (what a writer produces) ----------------------------------------------
class ProductNarrative(BaseModel):
    summary: str
    positioning: str


class CityNote(BaseModel):
    city: str
    note: str


class MarketNarrative(BaseModel):
    summary: str
    cultural_notes: list[CityNote]


class AdCopy(BaseModel):
    platform: str
    headline: str
    body: str
    call_to_action: str


class AdNarrative(BaseModel):
    summary: str
    ad_copies: list[AdCopy]
    creative_briefs: list[str]


class SupplyNarrative(BaseModel):
    summary: str


class EmailStep(BaseModel):
    day: int
    subject: str
    goal: str


class SalesNarrative(BaseModel):
    summary: str
    landing_page: list[str]
    email_sequence: list[EmailStep]
    upsell_downsell: list[str]
    conversion_tactics: list[str]
    customer_journey: list[str]


# --- agent results ----------------------------------------------------------------------
class Rated(BaseModel):
    score: float
    reasons: list[str]


class ProductAnalystResult(AgentMeta):
    category: str
    category_matches_text: bool
    suggested_categories: list[tuple[str, float]]
    quality_expected: Rated
    market_fit: Rated
    production_complexity: Rated
    demand_potential: float  # expected units a month in the run's city set (the ranking's top ``city_set``)
    demand_revenue_usd_month: float = 0.0
    understanding: dict = Field(default_factory=dict)  # core.advisors.product_analysis.understanding_report
    narrative: ProductNarrative


class CityProfile(BaseModel):
    rank: int
    city: str
    country_iso2: str
    opportunity_score: float
    demand_score: float
    competition_index: float
    demographic_match: float  # age fit x 100
    purchasing_power_index: float
    online_buyers_pct: float
    expected_units_month: float


class MarketProfilerResult(AgentMeta):
    cities: list[CityProfile]
    narrative: MarketNarrative


class PlatformLine(BaseModel):
    split: str
    platform: str
    spend_usd: float
    conversions: float
    cac_usd: float | None
    revenue_usd: float
    roas: float | None


class CurveParams(BaseModel):
    platform: str
    label: str
    cpa0: float
    c_max: float
    k: float


class AdvertisingPlannerResult(AgentMeta):
    budget_usd_month: float
    price_level: float
    forecast_units_month: float
    unit_margin_usd: float
    curves: list[CurveParams]
    split: list[PlatformLine]
    break_even_roas: float
    expected_conversions: float
    cac_usd: float | None
    roas: float | None
    targeting: dict
    timing: list[dict] = Field(default_factory=list)  # per target city: best months, month to start ads
    narrative: AdNarrative


class LandedCostLine(BaseModel):
    market: str
    country_iso2: str
    mode: str
    distance_km: float
    materials_usd: float
    labour_usd: float
    overhead_usd: float
    freight_usd: float  # the parcel in the seller's landed cost (0 when the buyer pays shipping)
    buyer_freight_usd: float = 0.0  # the parcel the buyer pays on top of the price
    duty_usd: float
    import_vat_usd: float
    landed_cost_usd: float
    transit_days: float
    total_lead_days: float


class SupplyChainResult(AgentMeta):
    method: str
    method_reasons: list[str]
    sourcing_regions: list[str]
    origin: str
    landed_costs: list[LandedCostLine]
    aql: dict
    qc_checklist: list[str]
    warehouse: str
    warehouse_weighted_km: float
    narrative: SupplyNarrative


class ChannelLine(BaseModel):
    country_iso2: str
    city: str = ""  # the country's top city, whose shipping and duty the line uses
    channel: str
    landed_cost_usd: float = 0.0  # unit cost + the ranking's shipping + duty
    fees_usd: float
    acquisition_usd: float
    unit_margin_usd: float  # contribution per unit after every cost
    margin_rate: float
    break_even_price_usd: float = 0.0
    max_unit_cost_usd: float = 0.0
    max_cac_usd: float = 0.0
    recommended: bool


class SalesStrategyResult(AgentMeta):
    channels: list[ChannelLine]
    narrative: SalesNarrative
