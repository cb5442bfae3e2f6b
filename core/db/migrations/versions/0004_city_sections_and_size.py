"""cities: folded districts (parent_city_id, sections_folded) and the urban-scaling factor

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cities") as batch:
        batch.add_column(sa.Column("parent_city_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sections_folded", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("city_size_factor", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cities") as batch:
        batch.drop_column("city_size_factor")
        batch.drop_column("sections_folded")
        batch.drop_column("parent_city_id")
