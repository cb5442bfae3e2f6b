"""Alembic environment: runs on the connection handed over by core.db.database.migrate()."""

from __future__ import annotations

from alembic import context

from core.db.models import Base

config = context.config
connection = config.attributes.get("connection")
target_metadata = Base.metadata

if connection is None:  # pragma: no cover - only for `alembic` run by hand
    from sqlalchemy import create_engine

    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
