"""Search interest (Google Trends) against a local server speaking the Trends website's wire format:
the widget page and comparedgeo, 429 with Retry-After, a changed page, offline; matching Google's places
to cities; the cache with its date; search interest as a calibration feature; the Results panel."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.trends import GoogleTrends
from core import calibration
from core.errors import ExternalError, InputError
from core.forecast import evaluate, prepare, validate_product
from core.places import trends
from tests.fake_marketplaces import FakeGoogleTrends

BR_PLACES = [
    ("São Paulo", -23.5505, -46.6333, 100),
    ("Rio de Janeiro", -22.9068, -43.1729, 81),
    ("Brasília", -15.7939, -47.8828, 67),
    ("Curitiba", None, None, 55),  # no coordinates: matched by name
    ("Nowhere Town", -10.0, -60.0, 40),  # in the forest: matches no city
    ("Manaus", -3.119, -60.0217, 0),  # hasData false: not listed
]


def no_sleep(waits: list[float]):
    return waits.append


def city_id(ca, name: str, iso: str) -> int:
    inside = (ca.names == name) & (ca.iso2 == iso)
    return int(ca.city_id[inside][np.argmax(ca.population[inside])])


def test_client_reads_the_widget_then_the_city_map() -> None:
    with FakeGoogleTrends(BR_PLACES) as fake:
        points = GoogleTrends(fake.url).interest_by_city("bath towel", "BR")
    assert fake.asked[0]["comparisonItem"][0] == {"keyword": "bath towel", "geo": "BR", "time": "today 12-m"}
    assert [p.name for p in points] == ["São Paulo", "Rio de Janeiro", "Brasília", "Curitiba", "Nowhere Town"]
    assert points[0].value == 100 and points[0].lat == pytest.approx(-23.5505)
    assert points[3].lat is None  # listed without coordinates


def test_client_waits_on_429_and_says_plainly_when_refused_changed_or_offline() -> None:
    waits: list[float] = []
    with FakeGoogleTrends(BR_PLACES) as fake:
        fake.fail_next = [429]
        assert len(GoogleTrends(fake.url, sleep=no_sleep(waits)).interest_by_city("towel", "BR")) == 5
        assert waits == [1.0]  # the Retry-After of the answer
        fake.fail_next = [429] * 5
        with pytest.raises(ConnectorError, match="Google Trends kept answering 429"):
            GoogleTrends(fake.url, sleep=no_sleep(waits)).interest_by_city("towel", "BR")
    with (
        FakeGoogleTrends(BR_PLACES, changed=True) as fake,
        pytest.raises(ConnectorError, match="without the map widget"),
    ):
        GoogleTrends(fake.url).interest_by_city("towel", "BR")
    with socket.socket() as s:  # a port nobody listens on: what offline looks like to the client
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectorError, match="could not reach Google Trends"):
        GoogleTrends(f"http://127.0.0.1:{port}", sleep=no_sleep([])).interest_by_city("towel", "BR")


def test_places_match_cities_by_name_near_the_point_then_nearest(ca) -> None:
    with FakeGoogleTrends(BR_PLACES) as fake:
        points = GoogleTrends(fake.url).interest_by_city("towel", "BR")
    matched, unmatched = trends.match_places(points, ca, "BR")
    by_id = matched.set_index("city_id")
    assert by_id.loc[city_id(ca, "São Paulo", "BR"), "value"] == 100
    assert by_id.loc[city_id(ca, "Curitiba", "BR"), "method"] == trends.NAME
    assert unmatched == ["Nowhere Town"]
    assert matched["city_id"].is_unique
    with pytest.raises(InputError, match="unknown country"):
        trends.match_places(points, ca, "XX")


def test_a_district_and_its_city_keep_the_citys_own_value(ca) -> None:
    """Google lists Brooklyn beside New York; both land on New York City (one row per city), whose own
    (name-matched) value wins."""
    points = [
        trends_point("New York", 40.7128, -74.0060, 70),
        trends_point("Brooklyn", 40.6501, -73.9496, 90),
    ]
    matched, unmatched = trends.match_places(points, ca, "US")
    nyc = city_id(ca, "New York City", "US")
    assert unmatched == [] and list(matched["city_id"]) == [nyc] and int(matched["value"].iloc[0]) == 70


def trends_point(name, lat, lon, value):
    from connectors.trends import TrendPoint

    return TrendPoint(name, lat, lon, value)


def test_fetch_stores_with_its_date_and_a_refetch_replaces(any_db, ca) -> None:
    key = f"towel {any_db.dialect}"
    assert trends.stored(any_db, key, "BR") is None
    with FakeGoogleTrends(BR_PLACES) as fake:
        first = trends.fetch(any_db, GoogleTrends(fake.url), ca, f"  Towel   {any_db.dialect} ", "br")
        assert fake.asked[-1]["comparisonItem"][0] == {"keyword": key, "geo": "BR", "time": trends.TIMEFRAME}
        assert first.keyword == key and first.country == "BR" and first.values.size == 4
        fake.places = BR_PLACES[:2]
        second = trends.fetch(any_db, GoogleTrends(fake.url), ca, key, "BR")
    again = trends.stored(any_db, key, "BR")
    assert again is not None and again.values.size == 2 and again.fetched_at >= first.fetched_at
    assert again.values[city_id(ca, "São Paulo", "BR")] == 100.0
    assert city_id(ca, "Curitiba", "BR") not in again.values.index  # dropped by the second fetch
    assert [s.country for s in trends.stored_for(any_db, key)] == ["BR"]
    assert second.unmatched == []


def test_nothing_is_stored_when_google_cannot_be_reached(sqlite_db, ca) -> None:
    with (
        FakeGoogleTrends(BR_PLACES, changed=True) as fake,
        pytest.raises(ExternalError, match="without the map widget"),
    ):
        trends.fetch(sqlite_db, GoogleTrends(fake.url), ca, "never stored", "BR")
    assert trends.stored(sqlite_db, "never stored", "BR") is None


@pytest.mark.parametrize("bad", ["", "   ", "x" * 101])
def test_keyword_is_checked(bad: str) -> None:
    with pytest.raises(InputError, match="keyword"):
        trends.normalise_keyword(bad)


def test_feature_columns_flag_unlisted_cities() -> None:
    values = pd.Series({1: 100.0, 2: 0.0})
    f = trends.feature_columns(values, [1, 2, 3])
    assert list(f.columns) == list(trends.FEATURES)
    np.testing.assert_allclose(f[trends.FEATURES[0]], np.log1p([100, 0, 0]))
    np.testing.assert_array_equal(f[trends.FEATURES[1]], [1, 1, 0])


def test_search_interest_helps_calibration_when_sales_follow_it(ca) -> None:
    """Sales driven by search interest that population does not explain: with the feature, the
    cross-validated ranking is better than without it (and the feature is really used)."""
    rng = np.random.default_rng(5)
    de = ca.frame[ca.frame["country_iso2"] == "DE"].nlargest(120, "population")
    interest = pd.Series(rng.integers(5, 101, len(de)).astype(float), index=de["city_id"].to_numpy())
    sales = de["population"].to_numpy() ** 0.3 * interest.to_numpy() ** 1.5 * rng.lognormal(0, 0.2, len(de))
    csv = (
        pd.DataFrame(
            {
                "city": de["name"].to_numpy(),
                "region": de["admin1"].to_numpy(),
                "country": "DE",
                "units": sales.round(),
            }
        )
        .to_csv(index=False)
        .encode()
    )
    rows, _measure = calibration.read_sales(csv)
    ev = evaluate(prepare(ca, validate_product(name="t", category="Home & Garden", price=25, unit_cost=10)))
    plain = calibration.calibrate(rows, "units", ev, ["DE"])
    with_trends = calibration.calibrate(
        rows, "units", ev, ["DE"], extra=trends.feature_columns(interest, ca.city_id)
    )
    assert with_trends.cv.spearman > plain.cv.spearman + 0.1


def test_cli_fetches_shows_stored_and_calibrates_with_it(
    sqlite_db, ca, tmp_path, monkeypatch, capsys
) -> None:
    """`python -m core trends` and `calibrate --search-keyword`: the first call as a process (the entry
    point), the rest through the same ``main`` in this process (a process start and the city table's load
    cost ~6 s each)."""
    import io
    import os
    import subprocess
    import sys

    from core import paths
    from core.cli import main

    env = dict(os.environ, DATABASE_URL=sqlite_db.url)
    first = subprocess.run(
        [sys.executable, "-m", "core", "trends", "--keyword", "cli towel", "--country", "BR", "--stored"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )
    assert first.returncode == 1 and "nothing stored for 'cli towel' in BR" in first.stderr

    def run(*args: str, base: str | None = None) -> tuple[int, str, str]:
        if base:
            monkeypatch.setenv("GOOGLE_TRENDS_BASE", base)
        else:
            monkeypatch.delenv("GOOGLE_TRENDS_BASE", raising=False)
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    with FakeGoogleTrends(BR_PLACES) as fake:
        code, out, err = run("trends", "--keyword", "cli towel", "--country", "BR", base=fake.url)
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out))
    assert list(got.columns) == ["city_id", "search_interest"] and len(got) == 4
    assert "fetched" in err and "1 of Google's places unmatched" in err
    code, out, _ = run("trends", "--keyword", "CLI towel", "--country", "br", "--stored")
    assert code == 0 and pd.read_csv(io.StringIO(out)).equals(got)
    with FakeGoogleTrends(BR_PLACES, changed=True) as fake:
        code, _, err = run("trends", "--keyword", "cli towel", "--country", "BR", base=fake.url)
    assert code == 2 and "without the map widget" in err and "Traceback" not in err
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "city,country,units\nSao Paulo,BR,90\nRio de Janeiro,BR,60\nBrasilia,BR,40\nCuritiba,BR,30\n"
        "Salvador,BR,20\nFortaleza,BR,15\n"
    )
    common = [
        "calibrate",
        "--sales",
        str(sales),
        "--category",
        "Home & Garden",
        "--price",
        "25",
        "--unit-cost",
        "10",
    ]
    assert run(*common, "--search-keyword", "cli towel")[0] == 0
    code, _, err = run(*common, "--search-keyword", "never fetched")
    assert code == 2 and "no search interest is stored for 'never fetched'" in err


def test_results_panel_fetches_shows_the_date_and_adds_the_column(sqlite_db, monkeypatch) -> None:
    from tests.helpers import login, submit_forecast_form
    from views import _ui

    with FakeGoogleTrends(BR_PLACES) as fake:
        monkeypatch.setenv("GOOGLE_TRENDS_BASE", fake.url)
        _ui.get_settings.clear()
        try:
            at = login()
            submit_forecast_form(at, "Panel towel set", "Home & Garden", 25.0, 10.0, ["BR"])
            at.session_state["rs_view"] = "Ranking"
            at.run()
            assert any("Nothing stored for this keyword" in c.value for c in at.caption)
            at.button(key="rs_trend_fetch").click().run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            assert any("Search interest stored for 4 cities in BR" in s.value for s in at.success)
            table = at.dataframe[0].value
            assert "search_interest" in table.columns
            assert table["search_interest"].max() == 100 and table["search_interest"].isna().any()
            assert any("Stored: BR" in c.value for c in at.caption)
        finally:
            _ui.get_settings.clear()
    monkeypatch.setenv("GOOGLE_TRENDS_BASE", fake.url)  # the server is gone now: offline
    _ui.get_settings.clear()
    try:
        at.text_input(key="rs_trend_kw").input("another keyword").run()
        at.button(key="rs_trend_fetch").click().run()
        assert not at.exception
        assert any("No search interest fetched: could not reach Google Trends" in e.value for e in at.error)
        assert "search_interest" not in at.dataframe[0].value.columns
    finally:
        _ui.get_settings.clear()


def test_countries_combine_and_become_calibration_features(sqlite_db, ca) -> None:
    with FakeGoogleTrends(BR_PLACES) as fake:
        br = trends.fetch(sqlite_db, GoogleTrends(fake.url), ca, "combo towel", "BR")
    with FakeGoogleTrends([("Berlin", 52.52, 13.405, 100), ("München", 48.137, 11.575, 60)]) as fake:
        de = trends.fetch(sqlite_db, GoogleTrends(fake.url), ca, "combo towel", "DE")
    both = trends.combined([br, de])
    assert both.size == br.values.size + de.values.size == 6
    assert both[city_id(ca, "Berlin", "DE")] == 100 and both[city_id(ca, "São Paulo", "BR")] == 100
    assert trends.combined([]).empty
    f = trends.calibration_features(sqlite_db, "Combo  Towel", ca)  # every stored country of the keyword
    assert list(f.index) == list(ca.city_id)
    np.testing.assert_allclose(f.loc[both.index, trends.FEATURES[0]], np.log1p(both.to_numpy()))
    assert f[trends.FEATURES[1]].sum() == both.size and f[trends.FEATURES[0]].sum() == pytest.approx(
        np.log1p(both).sum()
    )
    with pytest.raises(InputError, match="no search interest is stored for 'never fetched either'"):
        trends.calibration_features(sqlite_db, "never fetched either", ca)


@pytest.mark.parametrize("quote", ["\\x22", '"', '\\"'])
def test_widget_literal_is_read_however_its_quotes_are_written(quote: str) -> None:
    """JavaScript allows \\x22, a raw " or \\" for a double quote inside a single-quoted string."""
    from connectors.trends import _embedded_widget

    body = '{"request": {"geo": {"country": "BR"}, "title": "it\\\'s"}, "token": "T1"}'.replace('"', quote)
    widget = _embedded_widget(f"<script>JSON.parse('{body}')</script>")
    assert widget == {"request": {"geo": {"country": "BR"}, "title": "it's"}, "token": "T1"}
