"""AppTest scenarios of the analyst flow: form -> run -> Results -> what-if -> exports; History."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core import paths
from core.db import repo
from core.forecast import ScoreWeights, evaluate, prepare, rank, validate_product, whatif
from core.services.forecasts import STORED_RESULTS
from tests.helpers import agents_written, login, start_worker, stop

APP = str(paths.ROOT / "app.py")


def fill_and_run(
    price: float | None = 30.0,
    cost: float | None = 8.0,
    countries=("DE", "FR"),
    email: str = "master@demo.local",
    payer: str | None = None,
) -> AppTest:
    at = login(email)
    if payer is not None:
        at.radio(key="nf_shipping_paid_by").set_value(payer)
    at.text_input(key="nf_name").input("Organic tee")
    at.selectbox(key="nf_category").select("Apparel & Accessories")
    if price is not None:
        at.number_input(key="nf_price").set_value(price)
    if cost is not None:
        at.number_input(key="nf_unit_cost").set_value(cost)
    at.multiselect(key="nf_countries").set_value(list(countries))
    at.button[0].click().run()
    return at


@pytest.mark.parametrize("payer", ["seller", "buyer"])
def test_who_pays_shipping_is_asked_stored_and_shown(sqlite_db, ca, payer) -> None:
    """The form's "Shipping paid by" reaches the engine: the saved forecast holds it, the headline is the
    engine's ranking for it, and Results says it."""
    at = fill_and_run(payer=payer)
    assert not at.exception, [e.value for e in at.exception]
    record = repo.load_forecast(sqlite_db, at.session_state["forecast_id"], at.session_state["user_id"])
    assert record.params["product"]["shipping_paid_by"] == payer
    product = validate_product(
        name="Organic tee",
        category="Apparel & Accessories",
        price=30.0,
        unit_cost=8.0,
        shipping_paid_by=payer,
    )
    market = whatif.market_cities(evaluate(prepare(ca, product)), STORED_RESULTS, ["DE", "FR"])
    assert metric(at, "Units / month") == f"{market['expected_units_month'].sum():,.0f}"
    assert any(f"shipping paid by the {payer}" in c.value for c in at.caption)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def worker(sqlite_db, tmp_path_factory):
    """A job worker for this module's tests that read the agents (they run as a background job)."""
    proc = start_worker(sqlite_db.url, tmp_path_factory.mktemp("worker") / "worker.log")
    yield proc
    stop(proc)


@pytest.fixture
def results(sqlite_db) -> AppTest:
    at = fill_and_run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Results"
    return at


def expected(ca, price=30.0, cost=8.0, weights=None):
    product = validate_product(
        name="Organic tee", category="Apparel & Accessories", price=30.0, unit_cost=8.0
    )
    ev = evaluate(prepare(ca, product), price=price, unit_cost=cost, weights=weights)
    return rank(ev, countries=["DE", "FR"], top=STORED_RESULTS)


def headline(ca, price=30.0, cost=8.0) -> dict[str, float]:
    """The headline the page should show: totals over the weight-independent market set."""
    product = validate_product(
        name="Organic tee", category="Apparel & Accessories", price=30.0, unit_cost=8.0
    )
    ev = evaluate(prepare(ca, product), price=price, unit_cost=cost)
    return whatif.headline_metrics(whatif.market_cities(ev, STORED_RESULTS, ["DE", "FR"]))


def show(at: AppTest, view: str) -> AppTest:
    at.session_state["rs_view"] = view
    return at.run()


def test_form_run_shows_results(results: AppTest, ca, sqlite_db) -> None:
    assert len(results.get("deck_gl_json_chart")) == 1
    assert len(show(results, "Charts").get("plotly_chart")) == 5 + 1  # + the plotly preload
    assert len(show(results, "Why this score").get("plotly_chart")) == 1 + 1
    table = expected(ca)
    assert metric(results, "Best city") == table.iloc[0]["city"]
    assert metric(results, "Units / month") == f"{headline(ca)['units']:,.0f}"
    # The run was persisted with its results.
    record = repo.load_forecast(
        sqlite_db, results.session_state["forecast_id"], results.session_state["user_id"]
    )
    assert len(record.results) == len(table)
    assert list(record.results["city_id"]) == list(table["city_id"])


def test_price_slider_reranks_as_the_engine_says(results: AppTest, ca) -> None:
    results.slider(key="rs_price").set_value(45.0).run()
    assert not results.exception
    m = headline(ca, price=45.0)
    assert metric(results, "Units / month") == f"{m['units']:,.0f}"
    assert metric(results, "Revenue / month") == f"${m['revenue']:,.0f}"


def test_cost_slider_changes_profit_as_the_engine_says(results: AppTest, ca) -> None:
    before = metric(results, "Profit / month")
    results.slider(key="rs_cost").set_value(14.0).run()
    after = metric(results, "Profit / month")
    assert after != before
    assert after == f"${headline(ca, cost=14.0)['profit']:,.0f}"


def test_weight_sliders_rerank(results: AppTest, ca) -> None:
    results.slider(key="rs_w_demand").set_value(0.0)
    results.slider(key="rs_w_profit").set_value(0.0)
    results.slider(key="rs_w_comp").set_value(1.0).run()
    table = expected(ca, weights=ScoreWeights(demand=0, profitability=0, competition=1))
    assert metric(results, "Best city") == table.iloc[0]["city"]
    # the weights reorder the ranking; the headline totals stay on the same market (issue 25, item 1)
    assert metric(results, "Units / month") == f"{headline(ca)['units']:,.0f}"
    assert metric(results, "Revenue / month") == f"${headline(ca)['revenue']:,.0f}"


def test_all_zero_weights_say_what_to_fix(results: AppTest) -> None:
    for key in ("rs_w_demand", "rs_w_profit", "rs_w_comp"):
        results.slider(key=key).set_value(0.0)
    results.run()
    assert any("at least one score weight" in e.value for e in results.error)


def test_filters_and_selection(results: AppTest) -> None:
    show(results, "Ranking")
    results.multiselect(key="rs_countries").set_value(["FR"]).run()
    table = results.dataframe[0].value
    assert set(table["country_iso2"]) == {"FR"}
    city_id = int(table.iloc[3]["city_id"])
    results.session_state["rs_city"] = city_id
    show(results, "Why this score")
    assert any(table.iloc[3]["city"] in m.value for m in results.markdown if m.value.startswith("####"))


def test_export_buttons_present(results: AppTest) -> None:
    show(results, "Export")
    keys = {b.key for b in results.get("download_button")}
    assert {"rs_csv", "rs_pdf", "rs_meta", "rs_xlsx"} <= keys


def test_deep_report_bought_in_demo_mode_is_built_by_the_worker_and_downloadable(
    results: AppTest, sqlite_db, tmp_path, monkeypatch, request
) -> None:
    """Buying answers at once (the build is a background job); the worker builds it; the page then offers
    the download. The job goes to a queue of this test's own, so it does not wait behind the agents jobs the
    module's other forecasts queued."""
    from core.billing import deep_reports
    from tests.helpers import private_queue
    from views import _ui

    queue = private_queue(sqlite_db, tmp_path)
    monkeypatch.setenv("JOBS_DATABASE_URL", queue)
    _ui.get_settings.clear()
    request.addfinalizer(_ui.get_settings.clear)  # the next test reads the shared queue again
    show(results, "Export")
    results.selectbox(key="rs_deep_type").set_value("standard")
    results.button(key="rs_deep_buy").click().run()
    assert not results.exception, [e.value for e in results.exception]
    fid = results.session_state["forecast_id"]
    user_id = results.session_state["user_id"]
    mine = [r for r in deep_reports.list_for(sqlite_db, user_id) if r.forecast_id == fid]
    assert [r.status for r in mine] == ["paid"]  # not built inside the page's run
    assert any("waiting for the report builder" in c.value for c in results.caption)
    worker = start_worker(sqlite_db.url, tmp_path / "worker.log", JOBS_DATABASE_URL=queue)
    try:
        deadline = time.monotonic() + 120
        while (
            deep_reports.get(sqlite_db, user_id, mine[0].id).status == "paid" and time.monotonic() < deadline
        ):
            time.sleep(0.3)
    finally:
        stop(worker)
    results.run()
    assert deep_reports.pdf(sqlite_db, user_id, mine[0].id).startswith(b"%PDF")
    assert f"rs_deep_{mine[0].id}" in {b.key for b in results.get("download_button")}


def jobs_of(db, at) -> dict:
    from core import jobs
    from core.services.jobs import queue_url
    from core.settings import load_settings

    url = queue_url(db, load_settings(database_url=db.url))
    return {
        j: jobs.get(url, j, at.session_state["user_id"]) for j in at.session_state["_agent_jobs"].values()
    }


def test_the_agents_write_in_the_background_and_run_again_as_a_job(
    results: AppTest, sqlite_db, worker
) -> None:
    """The form run queues the agents as a job (the page does not wait for them); the Agents view watches
    it and shows them; "Run the agents again" queues another job, counted against the quota."""
    from core import accounts as acc

    fid = results.session_state["forecast_id"]
    first = results.session_state["_agent_jobs"][fid]
    assert jobs_of(sqlite_db, results)[first].kind == "agents_rerun"  # queued by the form run
    show(results, "Agents")
    agents_written(results, sqlite_db)
    assert fid not in results.session_state["_agent_jobs"]
    assert len(results.tabs) == 5
    used = acc.forecasts_used(sqlite_db, results.session_state["user_id"])
    results.button(key="rs_agents_rerun").click().run()
    assert not results.exception, [e.value for e in results.exception]
    assert results.session_state["_agent_jobs"][fid] != first
    assert acc.forecasts_used(sqlite_db, results.session_state["user_id"]) == used + 1
    agents_written(results, sqlite_db)
    assert not results.exception, [e.value for e in results.exception]
    assert "rs_agents_rerun" in {b.key for b in results.button} and len(results.tabs) == 5


def test_agents_view_and_budget_slider(sqlite_db, ca, worker) -> None:
    from core.advisors import budget as bm

    at = fill_and_run(email="pro@demo.local")
    agents_written(at, sqlite_db)
    record = repo.load_agent_results(sqlite_db, at.session_state["forecast_id"])
    assert set(record) == {
        "product_analyst",
        "market_profiler",
        "advertising_planner",
        "supply_chain_advisor",
        "sales_strategy",
    }
    assert len(record["market_profiler"]["cities"]) == 20  # Pro: the plan shows 50, agents work on at most 20
    show(at, "Agents")
    assert not at.exception
    assert len(at.tabs) == 5
    ads = record["advertising_planner"]
    new_budget = round(2 * ads["budget_usd_month"], -1)
    at.slider(key="rs_budget").set_value(new_budget).run()
    curves = bm.curves_from_params(ads["curves"])
    plan = bm.plan(curves, new_budget, 30.0, ads["unit_margin_usd"])
    expected = plan.totals.set_index("split").loc["optimised", "conversions"]
    assert metric(at, "Orders / month (optimised)") == f"{expected:,.0f}"


def test_cost_above_price_warns_on_results(sqlite_db) -> None:
    at = fill_and_run(price=10.0, cost=12.0, countries=("DE",))
    assert at.title[0].value == "Results"
    warnings = [w.value for w in at.warning]
    assert any("every sale loses money" in w for w in warnings), warnings
    assert any("lose money at this price" in w for w in warnings)  # the loss-making cities, apart from profit


def test_map_scales_to_the_shown_cities_and_names_the_best(results: AppTest, ca) -> None:
    """Colour spans the shown scores (not 0-100), dot size follows expected units, every shown city is in
    the first view, and the top cities are labelled."""
    import json

    from core.text import ascii_label

    spec = json.loads(results.get("deck_gl_json_chart")[0].proto.json)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    dots = layers["results"]["data"]
    colours = {tuple(d["color"]) for d in dots}
    radii = [d["px"] for d in dots]
    table = expected(ca)
    # the ramp's two ends are both used: the best shown city is dark blue, the weakest light yellow
    assert (15, 76, 129, 210) in colours and (255, 214, 102, 210) in colours and len(colours) > 50
    assert max(radii) == 20 and min(radii) < 10  # pixels, proportional to sqrt(units)
    view = spec["initialViewState"]
    # labels: the best cities whose labels do not overlap a better one's at the first view (issue 25.11)
    from core.places.geo import spaced_labels

    keep = spaced_labels(table["lat"].to_numpy()[:30], table["lon"].to_numpy()[:30], view["zoom"], 10)
    assert [d["label"].split(". ", 1)[1] for d in layers["labels"]["data"]] == [
        ascii_label(c) for c in table["city"].iloc[keep]
    ]
    # dots in deck.gl's common units: the same pixels at every latitude (no Mercator growth towards the poles)
    assert layers["results"]["radiusUnits"] == "common"
    assert all(d["radius"] == pytest.approx(d["px"] / 2 ** view["zoom"]) for d in dots)
    half_lon = 180 / 2 ** view["zoom"]
    assert all(abs(d["lon"] - view["longitude"]) <= half_lon * 1.01 for d in dots)


def test_top_n_slider_stops_at_the_plans_cities(sqlite_db) -> None:
    at = fill_and_run(email="basic@demo.local")
    at = show(at, "Charts")
    slider = at.slider(key="rs_topn")
    assert slider.max == 10 and slider.value == 10  # Basic shows 10 cities


def test_price_curve_dollar_axis_has_round_ticks() -> None:
    import pandas as pd

    from core.render import charts

    curve = pd.DataFrame(
        {
            "price": [10.0, 20.0, 30.0],
            "units": [5.0, 3.0, 2.0],
            "revenue": [50.0, 60.0, 60.0],
            "profit": [-20.0, 15.0, 25.0],
        }
    )
    fig = charts.to_plotly(charts.price_curve_chart(curve, 20.0, 30.0, "t"))
    y2 = fig.layout.yaxis2
    assert y2.tickmode == "auto" and y2.tickformat == "$,~s" and y2.overlaying == "y"


def test_ranking_shows_the_analysts_columns_first(results: AppTest) -> None:
    show(results, "Ranking")
    table = results.dataframe[0].value
    for col in (
        "city",
        "opportunity_score",
        "expected_units_month",
        "expected_revenue_usd_month",
        "profit_usd_month",
        "loss_making",
        "recommended_price_usd",
    ):
        assert col in table.columns
    assert "demand_score" not in table.columns
    results.multiselect(key="rs_more_cols").set_value(["demand_score", "good_price_low_usd"]).run()
    table = results.dataframe[0].value
    assert {"demand_score", "good_price_low_usd"} <= set(table.columns)


def test_agent_tables_are_readable(sqlite_db, worker) -> None:
    """Agent tables: labelled headers, margins as percentages, no raw field names."""
    at = fill_and_run(email="master@demo.local")
    show(at, "Agents")
    agents_written(at, sqlite_db)
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    channels = next(f for f in frames if "channel" in f.columns)
    record = repo.load_agent_results(sqlite_db, at.session_state["forecast_id"])["sales_strategy"]["channels"]
    assert channels["margin_rate"].tolist() == pytest.approx([100 * c["margin_rate"] for c in record])
    cities = next(f for f in frames if "demographic_match" in f.columns)
    assert "rank" in cities.columns and len(cities) > 0


def test_what_if_reset_and_save_as_new_forecast(results: AppTest, sqlite_db, worker) -> None:
    first = results.session_state["forecast_id"]
    results.slider(key="rs_price").set_value(36.0).run()
    results.button(key="rs_reset").click().run()
    assert results.slider(key="rs_price").value == 30.0  # back to the saved value
    results.slider(key="rs_price").set_value(36.0).run()
    results.button(key="rs_save_new").click().run()
    assert not results.exception
    new = results.session_state["forecast_id"]
    assert new != first
    record = repo.load_forecast(sqlite_db, new, results.session_state["user_id"])
    assert record.product["price"] == 36.0
    agents_written(results, sqlite_db)  # the new forecast's agents: a job of their own
    assert set(repo.load_agent_results(sqlite_db, new)) >= {"sales_strategy"}


def test_map_offers_country_and_region_choropleths(results: AppTest) -> None:
    show(results, "Map")
    results.segmented_control(key="rs_map_mode").set_value("Countries").run()
    assert not results.exception, [e.value for e in results.exception]
    decks = results.get("deck_gl_json_chart")
    assert len(decks) == 1 and '"choropleth"' in decks[0].proto.json
    results.selectbox(key="rs_map_measure").set_value("revenue")
    results.segmented_control(key="rs_map_mode").set_value("Regions (approximate borders)").run()
    assert not results.exception, [e.value for e in results.exception]
    assert any("approximate" in c.value for c in results.caption)
    assert '"Ile-de-France"' in results.get("deck_gl_json_chart")[0].proto.json


def test_plotly_is_mounted_on_the_map_view_so_the_first_chart_is_not_blank(results: AppTest) -> None:
    """Why this score after a map click drew ~2 s late while the browser fetched plotly's code; one blank
    1-px chart on every Results view loads it while the map is read (measured: 2.07 s -> 0.49 s)."""
    show(results, "Map")
    charts = results.get("plotly_chart")
    assert len(charts) == 1 and '"height":10' in charts[0].proto.spec.replace(" ", "")


def test_the_open_forecast_is_in_the_url_and_reopens_with_the_owner_check(sqlite_db) -> None:
    """Issue 25 item 7: Results keeps ?forecast=<id>; a new session (F5, a shared link) with that URL reopens
    it for its owner and for nobody else."""
    from core import accounts
    from core.forecast import validate_product
    from core.places.citydata import city_arrays_from_db
    from core.services.forecasts import run_forecast
    from tests.helpers import login

    pro = accounts.get_user(sqlite_db, email="pro@demo.local")
    fid = run_forecast(
        sqlite_db,
        city_arrays_from_db(sqlite_db),
        validate_product(name="Linked towel", category="Home & Garden", price=25, unit_cost=10),
        None,
        user=pro,
    )
    at = login("pro@demo.local")
    at.session_state["forecast_id"] = fid
    at.switch_page("views/results.py").run()
    assert at.query_params["forecast"] == [fid] or at.query_params["forecast"] == fid
    fresh = login("pro@demo.local")  # a new session, as after F5
    fresh.query_params["forecast"] = fid
    fresh.switch_page("views/results.py").run()
    assert any("Linked towel" in s.value for s in fresh.subheader)
    other = login("basic@demo.local")
    other.query_params["forecast"] = fid
    other.switch_page("views/results.py").run()
    assert not any("Linked towel" in s.value for s in other.subheader)
    assert any("not yours" in e.value for e in other.error)


def test_the_form_shows_the_reading_and_the_analysts_correction_is_what_runs(sqlite_db) -> None:
    """Issue 23: New Forecast says what it read from the name; a correction (climate none) is what the
    stored forecast uses."""
    from core.services import records
    from tests.helpers import login

    at = login("master@demo.local")
    at.switch_page("views/new_forecast.py").run()
    at.text_input(key="nf_name").input("Down winter jacket")
    at.selectbox(key="nf_category").select("Apparel & Accessories")
    at.number_input(key="nf_price").set_value(50.0)
    at.number_input(key="nf_unit_cost").set_value(18.0)
    at.selectbox(key="nf_climate").select("none")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    fid = at.session_state["forecast_id"]
    record = records.load_forecast(sqlite_db, fid, at.session_state["user_id"])
    assert record.params["product"]["climate"] == "none"
    assert any("No climate affinity" in c.value for c in at.caption)  # Results states what was used
    # the reading is shown on the form once the text is in (a submit that stays, e.g. without a price)
    at.switch_page("views/new_forecast.py").run()
    at.text_input(key="nf_name").input("Down winter jacket")
    at.selectbox(key="nf_category").select("Apparel & Accessories")
    at.button[0].click().run()
    assert any("cold-weather product" in i.value for i in at.info), [i.value for i in at.info]


def test_results_say_which_price_anchors_the_recommendation(sqlite_db) -> None:
    """Issue 25.4: a tee at 4x the category's typical price is recommended around its own price, and
    Results says so (the engine's own sentence); the category anchors a tee near the typical price."""
    from core.forecast import prepare

    at = fill_and_run(price=140.0, cost=40.0)
    assert not at.exception, [e.value for e in at.exception]
    record = repo.load_forecast(sqlite_db, at.session_state["forecast_id"], at.session_state["user_id"])
    from core.places.citydata import city_arrays_from_db
    from core.services.forecasts import product_from_params

    note = whatif.price_anchor_note(
        prepare(city_arrays_from_db(sqlite_db), product_from_params(record.params))
    )
    assert "your own price ($140.00)" in note
    assert any(c.value.endswith(note) for c in at.caption)
    near = fill_and_run(price=30.0, cost=8.0)
    assert any("category's typical price" in c.value for c in near.caption)


def test_maps_are_sent_compact_with_the_same_content() -> None:
    """Issue 26: the map's JSON goes through the C encoder without indentation: the same deck, fewer bytes."""
    import json

    import numpy as np
    import pandas as pd
    import pydeck as pdk

    from views._ui import CompactDeck

    data = pd.DataFrame(
        {
            "lat": np.linspace(-40, 60, 50),
            "lon": np.linspace(-120, 140, 50),
            "city": [f"C{i}" for i in range(50)],
        }
    )
    layer = pdk.Layer(
        "ScatterplotLayer", data=data, id="dots", get_position=["lon", "lat"], radius_units="'common'"
    )
    view = pdk.ViewState(latitude=10, longitude=10, zoom=1)
    compact = CompactDeck(
        layers=[layer], initial_view_state=view, tooltip={"html": "{city}"}, map_provider=None
    )
    plain = pdk.Deck(layers=[layer], initial_view_state=view, tooltip={"html": "{city}"}, map_provider=None)
    assert json.loads(compact.to_json()) == json.loads(plain.to_json())
    assert len(compact.to_json()) < 0.7 * len(plain.to_json())


def test_a_map_is_built_once_per_distinct_shown_cities(ca) -> None:
    """Issue 26: the city map's deck is serialised once per set of shown cities and figures and reused (a view
    switch, another session showing the same forecast); a new price is a new map."""
    import json

    from views.results_views import map_view

    top = expected(ca).head(200)[map_view.MAP_COLUMNS]
    first = map_view._city_deck(top, False)
    assert map_view._city_deck(top.copy(), False) is first  # same content, another frame: the kept deck
    moved = top.assign(expected_units_month=top["expected_units_month"] * 1.01)
    again = map_view._city_deck(moved, False)
    assert again is not first and again.to_json() != first.to_json()
    dots = {d["city_id"]: d for d in json.loads(first.to_json())["layers"][-2]["data"]}
    assert set(dots) == set(top["city_id"]) and first._tooltip["html"].startswith("<b>#{rank} {city}</b>")
