"""AppTest over every page: each renders without an exception; City Explorer scenarios."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import paths

APP = paths.ROOT / "app.py"

PAGES = [
    "pages/new_forecast.py", "pages/results.py", "pages/history.py", "pages/calibrate.py",
    "pages/city_explorer.py", "pages/account.py", "pages/admin.py",
]  # fmt: skip


def app(sqlite_db) -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(sqlite_db, page: str) -> None:
    at = app(sqlite_db).run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} shows no title"


def test_city_explorer_search_map_and_detail(sqlite_db) -> None:
    at = app(sqlite_db).run()
    at.switch_page("pages/city_explorer.py").run()
    assert len(at.get("deck_gl_json_chart")) == 1
    at.text_input(key="cx_query").input("sao paulo").run()
    assert "**4** cities match." in [m.value for m in at.markdown]
    at.session_state["city_id"] = 3448439  # São Paulo
    at.run()
    assert any("São Paulo" in s.value for s in at.subheader)
    profile = at.dataframe[-1].value
    assert "Online buyers" in set(profile["feature"])
    assert set(profile["flag"]) <= {"measured", "regional", "inherited", "imputed"}
    assert profile.set_index("feature").loc["Income per capita (PPP)", "flag"] == "regional"


def test_city_explorer_filters(sqlite_db) -> None:
    at = app(sqlite_db).run()
    at.switch_page("pages/city_explorer.py").run()
    at.multiselect(key="cx_countries").set_value(["BR"]).run()
    at.multiselect(key="cx_regions").set_value(["Sao Paulo"]).run()
    at.number_input(key="cx_minpop").set_value(1_000_000).run()
    table = at.dataframe[0].value
    assert set(table["admin1"]) == {"Sao Paulo"}
    assert (table["population"] >= 1_000_000).all()


def test_empty_search_says_what_to_do(sqlite_db) -> None:
    at = app(sqlite_db).run()
    at.switch_page("pages/city_explorer.py").run()
    at.text_input(key="cx_query").input("zzzzqqq").run()
    assert any("No city matches" in i.value for i in at.info)


def test_unreachable_database_shows_a_clear_page(monkeypatch, tmp_path) -> None:
    from pages import _ui

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
