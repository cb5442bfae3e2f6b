"""SQLAlchemy 2 models: the original design's schema (DESIGN Appendix A) plus what the product needs.

The repositories in core/db/repo.py are the only users of these classes; everything else gets
plain domain objects or DataFrames.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.columns import AGE_COLUMNS, CITY_COLUMNS, COUNTRY_COLUMNS  # noqa: F401  (re-exported)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


# The city and country tables mirror the shipped parquet tables column for column (core.db.columns).
cities = Table(
    "cities",
    Base.metadata,
    Column("city_id", BigInteger, primary_key=True, autoincrement=False),
    *[Column(name, typ) for name, typ in CITY_COLUMNS],
    Column("updated_at", DateTime(timezone=True), default=utcnow),
)

countries = Table(
    "countries",
    Base.metadata,
    Column("iso3", String(3), primary_key=True),
    *[Column(name, typ) for name, typ in COUNTRY_COLUMNS],
)


class Meta(Base):
    """Key/value facts about the database contents (e.g. the hash of the loaded data)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    subscription_tier: Mapped[str] = mapped_column(String(16), default="basic")
    subscription_status: Mapped[str] = mapped_column(String(16), default="active")
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Sessions (and login cookies) that began before this moment are over: logout, a password change, an
    # admin's plan or role change set it (core.accounts.end_sessions).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    plan_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    current_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(120))
    base_price: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)
    target_ages: Mapped[list] = mapped_column(JSON, default=list)
    ships_from: Mapped[str | None] = mapped_column(String(200))
    production_method: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Forecast(Base):
    """One run: the inputs, the status and the headline of the best city."""

    __tablename__ = "forecasts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    target_city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.city_id"))
    demand_score: Mapped[float | None] = mapped_column(Float)
    competition_index: Mapped[float | None] = mapped_column(Float)
    profitability_score: Mapped[float | None] = mapped_column(Float)
    expected_sales_volume: Mapped[float | None] = mapped_column(Float)
    recommended_price: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ForecastResult(Base):
    """One city's result in one forecast, with every score term (in ``terms``)."""

    __tablename__ = "forecast_results"
    forecast_id: Mapped[str] = mapped_column(ForeignKey("forecasts.id", ondelete="CASCADE"), primary_key=True)
    # a GeoNames city, or a city a user added (core.forecast.custom): no foreign key to the shared table
    city_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    demand_score: Mapped[float] = mapped_column(Float)
    competition_index: Mapped[float] = mapped_column(Float)
    profitability_score: Mapped[float] = mapped_column(Float)
    opportunity_score: Mapped[float] = mapped_column(Float)
    expected_units_month: Mapped[float] = mapped_column(Float)
    expected_units_low: Mapped[float] = mapped_column(Float)
    expected_units_high: Mapped[float] = mapped_column(Float)
    expected_revenue_usd_month: Mapped[float] = mapped_column(Float)
    recommended_price_usd: Mapped[float] = mapped_column(Float)
    terms: Mapped[dict] = mapped_column(JSON, default=dict)


class AgentLog(Base):
    __tablename__ = "agent_logs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    forecast_id: Mapped[str] = mapped_column(ForeignKey("forecasts.id", ondelete="CASCADE"))
    agent_name: Mapped[str] = mapped_column(String(64))
    input_data: Mapped[dict] = mapped_column(JSON, default=dict)
    output_data: Mapped[dict] = mapped_column(JSON, default=dict)
    execution_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_used: Mapped[int] = mapped_column(Integer, default=0)
    writer: Mapped[str] = mapped_column(String(16), default="template")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeepReport(Base):
    __tablename__ = "deep_reports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    forecast_id: Mapped[str] = mapped_column(ForeignKey("forecasts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    payment_id: Mapped[str | None] = mapped_column(String(255))
    report_type: Mapped[str] = mapped_column(String(16))
    price_paid: Mapped[float] = mapped_column(Float, default=0.0)
    report_data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(
        String(16), default="pending_payment"
    )  # pending_payment | ready | failed
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An API key: only its SHA-256 and a display prefix are stored; the key is shown once."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateCount(Base):
    """Requests per API key per minute window, incremented atomically (shared by every API process)."""

    __tablename__ = "api_rate_counts"
    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # unix minute
    count: Mapped[int] = mapped_column(Integer, default=0)


class Branding(Base):
    """White-label settings of a Master account (the add-on): company name, logo and colour on exports."""

    __tablename__ = "branding"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    active: Mapped[bool] = mapped_column(default=False)  # the add-on is paid for
    company_name: Mapped[str] = mapped_column(String(120), default="")
    colour: Mapped[str] = mapped_column(String(7), default="#1F4E79")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(16))  # png | svg
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CustomCity(Base):
    """A user's own figures for a city (the "Custom city data" add-on, core.billing.custom_cities): an
    override of a GeoNames city, or a city the user adds (``city_id`` >= core.forecast.custom.CUSTOM_CITY_ID_BASE,
    with name, country and position). Used in that user's forecasts only."""

    __tablename__ = "custom_cities"
    __table_args__ = (UniqueConstraint("user_id", "city_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(120))
    country_iso2: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    figures: Mapped[dict] = mapped_column(
        JSON, default=dict
    )  # figure -> value (core.forecast.custom.FIGURES)
    sources: Mapped[dict] = mapped_column(JSON, default=dict)  # figure -> the user's source note
    status: Mapped[str] = mapped_column(String(16), default="pending_payment")  # pending_payment | active
    price_paid: Mapped[float] = mapped_column(Float, default=0.0)
    payment_id: Mapped[str | None] = mapped_column(String(255))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Usage(Base):
    """Forecasts run per user per calendar month (``period`` = 'YYYY-MM'), counted atomically."""

    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("user_id", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    forecasts: Mapped[int] = mapped_column(Integer, default=0)


class LoginFailure(Base):
    """Failed logins per account, for throttling across sessions and replicas."""

    __tablename__ = "login_failures"
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Who changed which user's plan or role, when, and through what (admin page, CLI, Stripe)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36))  # None: the system (Stripe, CLI)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    field: Mapped[str] = mapped_column(String(16))  # plan | role
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))


class OAuthState(Base):
    """A sign-in with Google or GitHub in flight: the state sent to the provider, the PKCE verifier and the
    OpenID nonce; taken (deleted) by the callback, so a state works once and only for 10 minutes."""

    __tablename__ = "oauth_states"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    code_verifier: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ProcessedEvent(Base):
    """Stripe webhook events already applied (idempotency by event id)."""

    __tablename__ = "processed_events"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FailedEvent(Base):
    """A signed Stripe event that could not be applied (yet), with the reason: shown to admins, resolved
    when a later delivery of the same event applies (Stripe retries non-2xx answers)."""

    __tablename__ = "failed_events"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's event id
    type: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)  # the answer Stripe got (409, 400, 500)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CalibrationRecord(Base):
    """A user's saved calibration: inputs, accuracy, predictions per city and the match report."""

    __tablename__ = "calibrations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    measure: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    predictions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Connection(Base):
    """A marketplace connection: its credentials encrypted (Fernet), its sync cursor and status."""

    __tablename__ = "connections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # shopify | etsy
    name: Mapped[str] = mapped_column(String(200), default="")
    credentials: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet token of the JSON credentials
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | syncing | ok | error | revoked
    cursor: Mapped[str | None] = mapped_column(String(500))
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    orders: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportedOrder(Base):
    """One marketplace order reduced to what calibration needs (no names, e-mails or street addresses)."""

    __tablename__ = "imported_orders"
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    city: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[float] = mapped_column(Float, default=0.0)


class SearchTrend(Base):
    """Google Trends interest by city for one keyword in one country (public data, shared by all users),
    matched to city ids, with the date it was fetched (docs/trends.md)."""

    __tablename__ = "search_trends"
    keyword: Mapped[str] = mapped_column(String(100), primary_key=True)  # normalised: folded, single spaces
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(40), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    places: Mapped[list] = mapped_column(
        JSON, default=list
    )  # [[city_id, value, name as Google writes it], ...]
    unmatched: Mapped[list] = mapped_column(JSON, default=list)  # Google's place names that matched no city
