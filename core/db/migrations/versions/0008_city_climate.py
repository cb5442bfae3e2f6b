"""cities: Köppen-Geiger climate zone and its flag

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cities") as batch:
        batch.add_column(sa.Column("koppen_zone", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("koppen_flag", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cities") as batch:
        batch.drop_column("koppen_flag")
        batch.drop_column("koppen_zone")
