"""custom_cities: a user's own city figures (the $99 add-on), under row-level security on PostgreSQL; forecast
results may name a city a user added, so their city id no longer refers to the shared city table

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SETTING = "current_setting('app.user_id', true)"
MINE = f"{SETTING} = '*' OR user_id = {SETTING}"  # as migration 0011's policies
FK = "fk_forecast_results_city_id_cities"
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    op.create_table(
        "custom_cities",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("city_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(120), nullable=True),
        sa.Column("country_iso2", sa.String(2), nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("price_paid", sa.Float, nullable=False),
        sa.Column("payment_id", sa.String(255), nullable=True),
        sa.Column("checkout_session_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "city_id"),
    )
    op.create_index("ix_custom_cities_user_id", "custom_cities", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE forecast_results DROP CONSTRAINT IF EXISTS forecast_results_city_id_fkey")
        op.execute("ALTER TABLE custom_cities ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE custom_cities FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY user_rows ON custom_cities USING ({MINE}) WITH CHECK ({MINE})")
    else:  # SQLite: the unnamed foreign key goes by rebuilding the table (Alembic's batch mode)
        with op.batch_alter_table("forecast_results", naming_convention=NAMING) as batch:
            batch.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS user_rows ON custom_cities")
    op.drop_index("ix_custom_cities_user_id", "custom_cities")
    op.drop_table("custom_cities")
