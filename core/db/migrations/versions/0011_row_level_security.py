"""row-level security on PostgreSQL for every table that belongs to a user (issue 27)

Each user-owned table gets a policy keyed on the transaction setting ``app.user_id`` (set by
``Database.session``): a session opened for a user sees only that user's rows, whatever its query forgets;
the app's system work (webhooks, admin, seeding, API-key lookup) marks its transactions ``*``; a connection
that sets nothing (a psql shell as the app's role, a forgotten code path outside ``Database``) sees no rows.
FORCE applies the policies to the tables' owner too; superusers and BYPASSRLS roles are exempt, so run the
app as an ordinary role (docs/security.md, "Row-level security"). SQLite has no RLS: the checks stay in code.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SETTING = "current_setting('app.user_id', true)"
SYSTEM = f"{SETTING} = '*'"
# table -> the condition that makes a row the current user's
OWNED = {
    "forecasts": f"user_id = {SETTING}",
    "calibrations": f"user_id = {SETTING}",
    "api_keys": f"user_id = {SETTING}",
    "connections": f"user_id = {SETTING}",
    "deep_reports": f"user_id = {SETTING}",
    "branding": f"user_id = {SETTING}",
    "forecast_results": "forecast_id IN (SELECT id FROM forecasts)",
    "agent_logs": "forecast_id IN (SELECT id FROM forecasts)",
    "imported_orders": "connection_id IN (SELECT id FROM connections)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, mine in OWNED.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY user_rows ON {table} USING ({SYSTEM} OR {mine}) WITH CHECK ({SYSTEM} OR {mine})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in OWNED:
        op.execute(f"DROP POLICY IF EXISTS user_rows ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
