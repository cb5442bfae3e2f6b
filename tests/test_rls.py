"""Row-level security on PostgreSQL (issue 27, migration 0011): a session opened for user A, running a query
that forgets its user filter, sees none of B's rows; the app's system scope sees both; a connection that
sets no scope sees nothing. The app's role here is an ordinary role, not the tables' owner (the owner and
superusers would bypass the policies without FORCE; superusers always do)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from core import accounts
from core.db import models
from core.db.database import Database
from core.forecast import validate_product
from core.services.forecasts import run_forecast
from core.settings import load_settings

pytestmark = pytest.mark.postgres

APP_ROLE = "aci_app_rls_test"


@pytest.fixture(scope="module")
def app_db(pg_db: Database):
    """The same database, connected as an ordinary role with read/write grants and no RLS bypass."""
    with pg_db.engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}).first()
        if not exists:
            conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD 'app-role-pw' NOSUPERUSER NOBYPASSRLS"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        )
        conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"))
        owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'forecasts'")).scalar()
    assert owner != APP_ROLE
    url = make_url(pg_db.url).set(username=APP_ROLE, password="app-role-pw")
    db = Database(url.render_as_string(hide_password=False), create=False)
    yield db
    db.dispose()


def _user(db: Database) -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@rls.example", "a-long-password", tier="pro")


def test_an_unfiltered_query_as_one_user_returns_none_of_anothers_rows(pg_db: Database, app_db: Database, ca):
    a, b = _user(pg_db), _user(pg_db)
    product = validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4)
    fa = run_forecast(pg_db, ca, product, ["DE"], user=a, store_top=3)
    fb = run_forecast(pg_db, ca, product, ["DE"], user=b, store_top=3)
    with app_db.session(a.id) as s:  # a query that forgets "WHERE user_id = ..."
        ids = set(s.scalars(select(models.Forecast.id)))
        result_ids = set(s.scalars(select(models.ForecastResult.forecast_id)))
    assert fa in ids and fb not in ids
    assert fa in result_ids and fb not in result_ids  # child rows follow their forecast
    with app_db.session() as s:  # the app's system scope (webhooks, admin) sees both
        assert {fa, fb} <= set(s.scalars(select(models.Forecast.id)))
    with app_db.engine.connect() as conn:  # no scope set at all: nothing
        assert (
            conn.execute(select(models.Forecast.id).where(models.Forecast.id.in_([fa, fb]))).first() is None
        )


def test_custom_city_rows_are_the_owners_only(pg_db: Database, app_db: Database, ca) -> None:
    """Custom city data (migration 0013) is under the same policy: an unfiltered read as A shows none of B's."""
    from core.services import cities

    a, b = _user(pg_db), _user(pg_db)
    demo = load_settings(demo_mode=True, stripe_secret_key=None)
    req = cities.CityRequest(figures={"population": 1e6}, sources={"population": "x"}, city="Bremen, DE")
    ia, ib = (cities.save_city(pg_db, demo, u, ca, req) for u in (a, b))
    with app_db.session(a.id) as s:
        seen = set(s.scalars(select(models.CustomCity.id)))
    assert ia.id in seen and ib.id not in seen
    assert cities.for_user(app_db, ca, a.id).custom.keys() == {ia.city_id}  # the app's read works as the role


def test_a_user_scope_cannot_write_a_row_for_another_user(pg_db: Database, app_db: Database):
    a, b = _user(pg_db), _user(pg_db)
    with pytest.raises(Exception, match="row-level security"), app_db.session(a.id) as s:
        s.add(models.Branding(user_id=b.id, company_name="Not yours", colour="#123456"))
        s.flush()


def test_the_apps_reads_work_under_the_policies(pg_db: Database, app_db: Database, ca):
    """The repository's user reads (scoped sessions) still find the user's own work as the ordinary role."""
    from core.db import repo

    a = _user(pg_db)
    product = validate_product(name="Towel", category="Home & Garden", price=20, unit_cost=6)
    fid = run_forecast(app_db, ca, product, ["DE"], user=a, store_top=3)
    assert [f.id for f in repo.list_forecasts(app_db, a.id)] == [fid]
    assert len(repo.load_forecast(app_db, fid, a.id).results) == 3
