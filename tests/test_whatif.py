"""What-if helpers: price curves, filters, breakdowns, comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.forecast import evaluate, order, prepare, rank, validate_product, whatif


@pytest.fixture(scope="module", params=["buyer", "seller"])
def ev(ca, request):
    """A T-shirt forecast, with the buyer paying shipping and with free shipping."""
    p = validate_product(name="Tee", category="166", price=30, unit_cost=8, shipping_paid_by=request.param)
    return evaluate(prepare(ca, p))


def test_price_curve_matches_the_engine(ev) -> None:
    idx = order(ev, top=25)
    prices = np.array([20.0, 30.0, 45.0])
    curve = whatif.price_curve(ev, idx, prices)
    for price, units, profit in zip(prices, curve["units"], curve["profit"], strict=True):
        again = evaluate(ev.prepared, price=price).columns
        assert units == pytest.approx(again["expected_units_month"][idx].sum(), rel=1e-9)
        assert profit == pytest.approx(again["profit_usd_month"][idx].sum(), rel=1e-9)


def test_best_price_of_one_city_is_the_recommended_price(ev) -> None:
    from core.forecast import PRICE_CLIP

    c = ev.columns
    top = order(ev, top=50)
    ref, rec_all = c["price_anchor_usd"][top], c["recommended_price_usd"][top]
    unclipped = top[(rec_all > PRICE_CLIP[0] * ref * 1.01) & (rec_all < PRICE_CLIP[1] * ref * 0.99)]
    assert unclipped.size  # a city whose best price is the model's optimum, not a bound
    i = unclipped[:1]
    rec = float(c["recommended_price_usd"][i][0])
    grid = np.linspace(rec * 0.5, rec * 2, 3001)
    assert whatif.best_price(whatif.price_curve(ev, i, grid)) == pytest.approx(rec, rel=2e-3)


def test_filter_ranking(ev) -> None:
    table = rank(ev, top=2000)
    out = whatif.filter_ranking(table, ["US"], None, 1_000_000)
    assert set(out["country_iso2"]) == {"US"} and (out["population"] >= 1_000_000).all()
    assert out["rank"].is_monotonic_increasing
    us = table[table["country_iso2"] == "US"]
    two = list(us["region"].value_counts().index[:2])
    by_region = whatif.filter_ranking(table, ["US"], two)
    assert set(by_region["region"]) == set(two) and len(by_region) == int(us["region"].isin(two).sum())


@given(st.floats(0.5, 5_000), st.floats(0.5, 5_000))
def test_price_grid_spans_both_prices_and_holds_the_current_one(current: float, reference: float) -> None:
    grid = whatif.price_grid(current, reference)
    assert current in grid
    assert np.all(np.diff(grid) > 0)
    assert grid[0] == pytest.approx(0.3 * min(current, reference))
    assert grid[-1] == pytest.approx(2.5 * max(current, reference))
    assert 80 <= len(grid) <= 81


def test_score_breakdown_adds_up(ev) -> None:
    row = rank(ev, top=1).iloc[0]
    parts = whatif.score_breakdown(row).groupby("score")["points"].sum()
    assert parts["Opportunity score"] == pytest.approx(row["opportunity_score"])
    assert parts["Profitability score"] == pytest.approx(row["profitability_score"])


def test_compare_rankings() -> None:
    a = pd.DataFrame(
        {
            "city_id": [1, 2, 3],
            "city": list("xyz"),
            "country_iso2": ["A"] * 3,
            "rank": [1, 2, 3],
            "opportunity_score": [90, 80, 70],
            "expected_units_month": [3.0, 2.0, 1.0],
        }
    )
    b = a.assign(rank=[3, 1, 2], opportunity_score=[60, 95, 85], expected_units_month=[1.5, 4.0, 2.5])
    out = whatif.compare_rankings(a, b)
    cmp = out.set_index("city_id")
    assert cmp.loc[1, "rank_change"] == -2 and cmp.loc[2, "rank_change"] == 1
    assert cmp.loc[2, "opportunity_a"] == 80 and cmp.loc[2, "opportunity_b"] == 95
    assert cmp.loc[3, "units_a"] == 1.0 and cmp.loc[3, "units_b"] == 2.5
    assert list(out["city_id"]) == [1, 2, 3]  # by the better of the two ranks, then id
    assert "best" not in out.columns


def test_compare_rankings_keeps_cities_in_the_top_of_either_and_new_ones() -> None:
    a = pd.DataFrame(
        {
            "city_id": [1, 2, 3],
            "city": list("xyz"),
            "country_iso2": ["A"] * 3,
            "rank": [1, 2, 3],
            "opportunity_score": [90, 80, 70],
            "expected_units_month": [3.0, 2.0, 1.0],
        }
    )
    b = pd.DataFrame(
        {
            "city_id": [3, 1, 4],
            "city": list("zxw"),
            "country_iso2": ["A"] * 3,
            "rank": [1, 2, 3],
            "opportunity_score": [91, 81, 71],
            "expected_units_month": [3.1, 2.1, 1.1],
        }
    )
    out = whatif.compare_rankings(a, b, top=1).set_index("city_id")
    assert set(out.index) == {1, 3}  # 1 is first in A, 3 first in B; 2 and 4 are in neither top 1
    assert out.loc[3, "rank_change"] == 2
    both = whatif.compare_rankings(a, b, top=3).set_index("city_id")
    assert np.isnan(both.loc[2, "rank_b"]) and np.isnan(both.loc[2, "rank_change"])  # gone from B: no change
    assert np.isnan(both.loc[4, "rank_a"])


def test_country_summary(ev) -> None:
    table = rank(ev, top=500)
    s = whatif.country_summary(table)
    assert s["cities"].sum() == 500
    assert s["expected_revenue_usd_month"].is_monotonic_decreasing


@pytest.mark.parametrize("cost", [8.0, 24.0])
def test_area_totals_add_up_to_the_headline(ca, cost: float) -> None:
    """Countries and regions (chart, choropleth) and the headline use one definition: their totals
    agree, profit counts only cities that make money and losses stay apart (at $24 of $30 many lose)."""
    # the seller pays shipping: margins then differ by city, so at $24 some cities lose and others do not
    p = validate_product(name="Tee", category="166", price=30, unit_cost=8, shipping_paid_by="seller")
    table = rank(evaluate(prepare(ca, p), unit_cost=cost), top=800)
    head = whatif.headline_metrics(table)
    for keys in (["country_iso2"], ["country_iso2", "region"]):
        areas = whatif.area_totals(table, keys)
        assert areas["cities"].sum() == head["cities"]
        assert areas["expected_units_month"].sum() == pytest.approx(head["units"])
        assert areas["expected_revenue_usd_month"].sum() == pytest.approx(head["revenue"])
        assert areas["profit_usd_month"].sum() == pytest.approx(head["profit"])
        assert areas["loss_usd_month"].sum() == pytest.approx(head["loss"])
        assert areas["loss_cities"].sum() == head["loss_cities"]
        assert (areas["profit_usd_month"] >= 0).all() and (areas["loss_usd_month"] <= 0).all()
    if cost == 24.0:
        assert (
            head["loss_cities"] > 0
        )  # the case that distinguishes "profit of the profitable" from a net sum


def test_input_differences_name_what_changed() -> None:
    from core.forecast.whatif import input_differences

    a = {
        "product": {
            "name": "Tee",
            "price": 30.0,
            "unit_cost": 8.0,
            "ships_from": None,
            "weights": {"demand": 0.5, "profitability": 0.3, "competition": 0.2},
        },
        "countries": ["DE"],
    }
    b = {
        "product": {
            "name": "Tee",
            "price": 36.0,
            "unit_cost": 8.0,
            "ships_from": "Istanbul, TR",
            "weights": {"demand": 0.5, "profitability": 0.3, "competition": 0.2},
        },
        "countries": [],
    }
    diffs = {d["input"]: (d["A"], d["B"]) for d in input_differences(a, b)}
    assert diffs == {
        "Price (US$)": ("30", "36"),
        "Ships from": ("-", "Istanbul, TR"),
        "Countries": ("DE", "world"),
    }
    assert input_differences(a, a) == []
    # a forecast stored before "shipping paid by" existed was made with the seller paying
    newer = {**a, "product": {**a["product"], "shipping_paid_by": "buyer"}}
    assert input_differences(a, newer) == [{"input": "Shipping paid by", "A": "seller", "B": "buyer"}]
    assert input_differences(a, {**a, "product": {**a["product"], "shipping_paid_by": "seller"}}) == []


@given(
    wd=st.floats(0.0, 1.0),
    wp=st.floats(0.0, 1.0),
    wc=st.floats(0.05, 1.0),
    n=st.integers(1, 300),
)
def test_market_cities_do_not_depend_on_the_weights(ca, wd: float, wp: float, wc: float, n: int) -> None:
    """Issue 25.1: the headline's city set is the n cities with the most expected units; weights only
    reorder the ranking, so totals over the set are the same at any weights."""
    from core.forecast import ScoreWeights

    p = validate_product(name="Towel set", category="Home & Garden", price=25, unit_cost=9)
    prep = prepare(ca, p)
    base = whatif.market_cities(evaluate(prep), n, ["DE", "FR"])
    other = whatif.market_cities(
        evaluate(prep, weights=ScoreWeights(demand=wd, profitability=wp, competition=wc)), n, ["DE", "FR"]
    )
    assert list(other["city_id"]) == list(base["city_id"])
    assert whatif.headline_metrics(other) == whatif.headline_metrics(base)


def test_market_cities_are_the_largest_by_units_inside_scope_and_filters(ev) -> None:
    ca = ev.prepared.ca
    units = ev.columns["expected_units_month"]
    out = whatif.market_cities(ev, 40, ["DE", "FR", "IT"], countries=["DE", "IT"], min_population=50_000)
    pos = np.searchsorted(ca.city_id, out["city_id"])
    assert len(out) == 40 and set(ca.iso2[pos]) <= {"DE", "IT"} and (ca.population[pos] >= 50_000).all()
    assert out["expected_units_month"].is_monotonic_decreasing
    eligible = np.isin(ca.iso2, ["DE", "IT"]) & (ca.population >= 50_000)
    assert out["expected_units_month"].min() == pytest.approx(np.sort(units[eligible])[-40])
    region = str(ca.regions[pos[0]])
    one = whatif.market_cities(ev, 1000, ["DE", "FR", "IT"], countries=["DE", "IT"], regions=[region])
    in_region = np.isin(ca.iso2, ["DE", "IT"]) & (ca.regions == region)
    assert set(one["city_id"]) == set(ca.city_id[in_region])


def test_the_headline_counts_cost_floors_over_the_same_cities_as_its_totals(ca) -> None:
    """Results' "costs above market" warning counts the market set of the totals, from the engine's flag."""
    p = validate_product(name="Tee", category="166", price=30, unit_cost=26, shipping_paid_by="seller")
    ev = evaluate(prepare(ca, p))
    market = whatif.market_cities(ev, 500, ["DE", "FR", "TR"])
    pos = np.searchsorted(ca.city_id, market["city_id"])
    above = int(ev.columns["price_above_market"][pos].sum())
    assert above > 0
    assert whatif.headline_metrics(market)["above_market_cities"] == above
