"""AppTest over every page, signed in per tier; City Explorer scenarios; the login and error pages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import paths
from tests.helpers import login

APP = paths.ROOT / "app.py"
PAGES = [
    "views/new_forecast.py",
    "views/results.py",
    "views/history.py",
    "views/calibrate.py",
    "views/city_explorer.py",
    "views/account.py",
    "views/connections.py",
    "views/admin.py",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_admin(sqlite_db, page: str) -> None:
    at = login("admin@demo.local")
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    # a page that raised after its title shows the guard's error: a smoke test that can fail (issue 22)
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} shows no title"


@pytest.mark.parametrize("email", ["basic@demo.local", "pro@demo.local", "master@demo.local"])
@pytest.mark.parametrize("page", [p for p in PAGES if p != "views/admin.py"])
def test_every_page_renders_per_tier(sqlite_db, email: str, page: str) -> None:
    at = login(email)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title


def test_admin_page_not_offered_to_users(sqlite_db) -> None:
    at = login("pro@demo.local")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/admin.py")


def test_login_page_is_shown_first(sqlite_db) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.title[0].value == "AI-Commerce Intelligence Platform"
    assert any("demo-password" in i.value for i in at.info)


def test_wrong_password_is_refused(sqlite_db) -> None:
    at = login("pro@demo.local", "wrong-password")
    assert at.title[0].value == "AI-Commerce Intelligence Platform"
    assert any("incorrect" in e.value for e in at.error)


def test_city_explorer_search_map_and_detail(sqlite_db, ca) -> None:
    at = login()
    at.switch_page("views/city_explorer.py").run()
    assert len(at.get("deck_gl_json_chart")) == 1
    at.text_input(key="cx_query").input("sao paulo").run()
    from core.places.explore import search_cities

    n = len(search_cities(ca.frame, "sao paulo", ca.sections))
    assert any(m.value.startswith(f"**{n}** cities match (most relevant first") for m in at.markdown)
    assert at.dataframe[0].value.iloc[0]["name"] == "São Paulo"
    at.session_state["city_id"] = 3448439  # São Paulo
    at.run()
    assert any("São Paulo" in s.value for s in at.subheader)
    profile = at.dataframe[-1].value
    assert "Online buyers" in set(profile["feature"])
    assert set(profile["flag"]) <= {"measured", "regional", "inherited", "imputed"}
    assert profile.set_index("feature").loc["Income per capita (PPP)", "flag"] == "regional"


def test_city_explorer_filters(sqlite_db) -> None:
    at = login()
    at.switch_page("views/city_explorer.py").run()
    at.multiselect(key="cx_countries").set_value(["BR"]).run()
    at.multiselect(key="cx_regions").set_value(["Sao Paulo"]).run()
    at.number_input(key="cx_minpop").set_value(1_000_000).run()
    table = at.dataframe[0].value
    assert set(table["admin1"]) == {"Sao Paulo"}
    assert (table["population"] >= 1_000_000).all()


def test_empty_search_says_what_to_do(sqlite_db) -> None:
    at = login()
    at.switch_page("views/city_explorer.py").run()
    at.text_input(key="cx_query").input("zzzzqqq").run()
    assert any("No city matches" in i.value for i in at.info)


def test_unreachable_database_shows_a_clear_page(monkeypatch, tmp_path) -> None:
    from views import _ui

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    _ui.get_settings.clear()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        assert at.title[0].value == "The database is not available"
        assert "python -m core seed" in at.error[0].value
    finally:
        monkeypatch.undo()
        _ui.get_settings.clear()


def test_no_cookie_key_outside_demo_mode_refuses_to_start(sqlite_db, monkeypatch) -> None:
    from views import _ui

    monkeypatch.setenv("DEMO_MODE", "false")
    monkeypatch.delenv("COOKIE_KEY", raising=False)
    _ui.get_settings.clear()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert at.title[0].value == "The app is not configured"
        assert "COOKIE_KEY" in at.error[0].value
    finally:
        monkeypatch.undo()
        _ui.get_settings.clear()


def test_city_explorer_keeps_the_selected_city_when_filters_change(sqlite_db) -> None:
    """The profile follows the chosen city, and each filter state has its own table, so a row selection
    (by position) cannot carry over to another table and silently pick another city."""
    at = login()
    at.switch_page("views/city_explorer.py").run()
    at.text_input(key="cx_query").input("Bucharest").run()
    before = at.dataframe[0].key
    at.session_state["city_id"] = int(at.dataframe[0].value.iloc[0]["city_id"])
    at.run()
    assert any("Bucharest" in s.value for s in at.subheader)
    at.text_input(key="cx_query").input("").run()
    at.multiselect(key="cx_countries").set_value(["BR"]).run()
    at.number_input(key="cx_minpop").set_value(500_000).run()
    assert at.dataframe[0].key.startswith("cx_table_") and at.dataframe[0].key != before  # a new table widget
    assert any("Bucharest" in s.value for s in at.subheader)
    assert not any("São Paulo" in s.value for s in at.subheader)


def test_first_run_warm_up_finishes(sqlite_db, caplog, tmp_path) -> None:
    """The app starts the warm-up (city arrays, product reading, job queue client) in the background at start; it completes without
    error, and a broken one is logged, not raised into a page."""
    import logging
    import threading

    login()  # the frame starts it
    warm = [t for t in threading.enumerate() if t.name == "first-run-warm-up"]
    import gc

    from views import _ui

    try:
        with caplog.at_level(logging.INFO, logger="views._ui"):
            gc.unfreeze()
            _ui._warm_first_run(sqlite_db.url)  # the same work, in this thread
            assert any("first-run warm-up done" in r.message for r in caplog.records)
            assert not any("warm-up stopped" in r.message for r in caplog.records)
            # what it loaded is frozen out of the collector's full scans (Streamlit runs one per script run)
            frozen = [r.message for r in caplog.records if "long-lived objects" in r.message]
            assert len(frozen) == 1 and int(frozen[0].split()[1]) > 100_000
            assert gc.get_freeze_count() > 100_000  # the modules and the city table's frame, not a handful
            caplog.clear()
            _ui._warm_first_run(f"sqlite:///{tmp_path / 'empty.db'}")  # not seeded
            assert any(
                "warm-up stopped" in r.message and r.levelno == logging.WARNING for r in caplog.records
            )
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
    for t in warm:
        t.join(60)
        assert not t.is_alive()


def test_account_api_key_created_once_listed_and_revoked(sqlite_db) -> None:
    from core import accounts
    from core.accounts import apikeys

    at = login("pro@demo.local")
    at.switch_page("views/account.py").run()
    form_name = next(t for t in at.text_input if t.label == "Key name")
    form_name.input("page test")
    next(b for b in at.button if b.label == "Create API key").click().run()
    assert not at.exception
    token = at.code[0].value
    user = accounts.get_user(sqlite_db, email="pro@demo.local")
    assert apikeys.authenticate(sqlite_db, token)[0].id == user.id  # the shown key works
    at.run()
    assert not at.code  # shown once
    listed = at.dataframe[-1].value
    assert f"{token[:12]}..." in set(listed["Key"]) and "page test" in set(listed["Name"])
    at.selectbox(key="api_key_revoke").set_value(
        next(o for o in at.selectbox(key="api_key_revoke").options if o.startswith(token[:12]))
    ).run()
    assert at.button(key="api_key_revoke_btn").disabled  # not before the confirmation (issue 25.12)
    at.checkbox(key="api_key_revoke_sure").check().run()
    at.button(key="api_key_revoke_btn").click().run()
    with pytest.raises(apikeys.AuthError):
        apikeys.authenticate(sqlite_db, token)
    assert any(s.value.startswith(f"Revoked {token[:12]}") for s in at.success)


def test_account_basic_sees_no_api_and_no_unbuilt_features(sqlite_db) -> None:
    at = login("basic@demo.local")
    at.switch_page("views/account.py").run()
    assert any("no API access" in i.value for i in at.info)
    plans = at.table[0].value
    assert "Marketplace integrations" not in plans.index and "API access" in plans.index


def test_account_white_label_demo_purchase_and_settings(sqlite_db) -> None:
    from core.accounts import branding

    at = login("master@demo.local")
    at.switch_page("views/account.py").run()
    at.button(key="wl_buy").click().run()
    assert not at.exception
    next(t for t in at.text_input if t.label == "Company name on reports").input("Acme Analytics")
    next(b for b in at.button if b.label == "Save white-label settings").click().run()
    assert any("Saved" in s.value for s in at.success), [e.value for e in at.error]
    from core import accounts

    user = accounts.get_user(sqlite_db, email="master@demo.local")
    assert branding.for_reports(sqlite_db, user).company_name == "Acme Analytics"
    branding.activate(sqlite_db, user.id, active=False)  # leave the shared demo account as it was


def test_city_explorer_sends_at_most_its_table_limit(sqlite_db) -> None:
    import re

    text = (paths.ROOT / "views" / "city_explorer.py").read_text(encoding="utf-8")
    limit = int(re.search(r"^TABLE_LIMIT = ([\d_]+)", text, re.M).group(1).replace("_", ""))
    at = login()
    at.switch_page("views/city_explorer.py").run()
    matching = int(
        next(m.value for m in at.markdown if m.value.endswith("cities match."))
        .split("**")[1]
        .replace(",", "")
    )  # no search text: no relevance note
    assert matching > limit  # the whole world matches with no filter
    assert len(at.dataframe[0].value) == limit
    assert any(f"lists the {limit:,} first of the {matching:,}" in c.value for c in at.caption)
