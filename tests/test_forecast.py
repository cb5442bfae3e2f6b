"""The forecast engine: table cases, properties (hypothesis) and sanity scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import paths
from core.errors import InputError
from core.forecast import (
    HEADLINE_COLUMNS,
    ScoreWeights,
    city_arrays,
    city_info,
    evaluate,
    order,
    prepare,
    rank,
    rank_product,
    resolve_origin,
    transit_days,
    validate_product,
)
from core.forecast.categories import all_categories, parse_age_bands, resolve_category

SCORES = ["demand_score", "competition_index", "profitability_score", "opportunity_score"]


def product(**kw):
    base = {"name": "Test", "category": "Apparel & Accessories", "price": 30.0, "unit_cost": 8.0}
    return validate_product(**(base | kw))


@pytest.fixture(scope="module")
def small(city_frame: pd.DataFrame):
    """About 900 cities (every 57th, plus the 300 largest): fast enough for property tests."""
    return city_arrays(_sample(city_frame))


def _sample(city_frame: pd.DataFrame) -> pd.DataFrame:
    ordered = city_frame[city_frame["parent_city_id"].isna()].sort_values("city_id")
    picked = pd.concat([ordered.iloc[::57], ordered.nlargest(300, "population")])
    return picked.drop_duplicates("city_id").sort_values("city_id").reset_index(drop=True)


# --- table cases --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("166", "Apparel & Accessories"),
        ("apparel & accessories", "Apparel & Accessories"),
        (" ELECTRONICS ", "Electronics"),
        (412, "Food, Beverages & Tobacco"),
        ("5605", "Religious & Ceremonial"),
    ],
)
def test_resolve_category(given_value, expected) -> None:
    assert resolve_category(given_value).name == expected


def test_taxonomy_has_21_top_level_categories() -> None:
    cats = all_categories()
    assert len(cats) == 21
    assert all(c.price_elasticity > 1 for c in cats)  # the Lerner optimum needs e > 1


def test_unknown_category_lists_valid_ones() -> None:
    with pytest.raises(InputError, match="Apparel & Accessories"):
        resolve_category("gadgets")


@pytest.mark.parametrize(
    ("text", "bands"),
    [
        ("25-34,35-44", ("25_34", "35_44")),
        ("65+", ("65plus",)),
        ("", ()),
        (None, ()),
        ("35-44, 15-24", ("15_24", "35_44")),
    ],
)
def test_parse_age_bands(text, bands) -> None:
    assert parse_age_bands(text) == bands


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": 0}, "price"),
        ({"price": -3}, "price"),
        ({"unit_cost": -1}, "unit_cost"),
        ({"category": "nope"}, "category"),
        ({"target_ages": "10-14"}, "target_ages"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_product_names_the_field(fields, field) -> None:
    with pytest.raises(InputError) as info:
        product(**fields)
    assert info.value.field == field


def test_cost_above_price_is_a_warning_not_an_error() -> None:
    p = product(price=10, unit_cost=12)
    assert p.cost_warning and "loses money" in p.cost_warning


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Istanbul, TR", "Istanbul, TR"),
        ("TR", "Istanbul, TR"),
        ("TUR", "Istanbul, TR"),
        ("sao paulo, BR", "São Paulo, BR"),
        ("Paris", "Paris, FR"),
        ("Springfield, Illinois, US", "Springfield, US"),
        ("Cologne, DE", "Köln, DE"),
        ("Munchen", "Munich, DE"),
    ],
)
def test_resolve_origin(ca, text, label) -> None:
    assert resolve_origin(text, ca).label == label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Istanbool, TR", "did you mean: Istanbul, TR"),
        ("Springfield", "ambiguous"),
        ("Oslo, XX", "unknown country"),
    ],
)
def test_resolve_origin_errors(ca, text, message) -> None:
    with pytest.raises(InputError, match=message):
        resolve_origin(text, ca)


def test_no_origin_means_domestic_fulfilment_from_each_countrys_hub(ca) -> None:
    prep = prepare(ca, product())
    assert prep.origin is None
    assert not prep.cross_border.any()
    for iso in ("BR", "TR", "US"):
        inside = np.flatnonzero(ca.iso2 == iso)
        hub = inside[np.argmax(ca.population[inside])]
        assert prep.distance_km[hub] == 0
        # every other city of the country is served from that hub: same distance as shipping from it
        origin = f"{ca.names[hub]}, {iso}"
        shipped = prepare(ca, product(ships_from=origin))
        np.testing.assert_allclose(prep.distance_km[inside], shipped.distance_km[inside])
        np.testing.assert_allclose(prep.delivery_days[inside], shipped.delivery_days[inside])


def test_transit_days_meet_each_band_at_its_edge_and_never_jump() -> None:
    bands = pd.read_csv(paths.DATA_DIR / "delivery_bands.csv")
    np.testing.assert_allclose(transit_days(bands["max_km"].to_numpy(float)), bands["days"])
    assert transit_days(0.0) == bands["days"].iloc[0]
    assert transit_days(bands["max_km"].iloc[-1] * 2) == bands["days"].iloc[-1]


@given(st.floats(0, 25_000), st.floats(0.1, 500))
def test_transit_days_rise_continuously_with_distance(km: float, more: float) -> None:
    near, far = transit_days(km), transit_days(km + more)
    assert near <= far
    # no jump: 100 km more never adds more than the steepest band's days per km allows
    bands = pd.read_csv(paths.DATA_DIR / "delivery_bands.csv")
    steepest = float(
        np.max(np.diff(np.r_[bands["days"].iloc[0], bands["days"]]) / np.diff(np.r_[0, bands["max_km"]]))
    )
    assert far - near <= steepest * more + 1e-9


def test_headline_columns_first(ca) -> None:
    table = rank_product(ca, product(), top=5)
    assert list(table.columns[: len(HEADLINE_COLUMNS)]) == HEADLINE_COLUMNS
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    assert table["opportunity_score"].is_monotonic_decreasing


@pytest.mark.parametrize("payer", ["seller", "buyer"])
def test_lerner_price_where_not_clipped(ca, payer) -> None:
    """Seller-paid shipping: the Lerner markup; buyer-paid: plus the parcel / (e - 1) (profit_peak_price)."""
    ev = evaluate(prepare(ca, product(price=30, unit_cost=8, shipping_paid_by=payer)))
    c = ev.columns
    e = 2.0  # Apparel & Accessories
    lerner = c["total_unit_cost_usd"] * e / ((e - 1) * (1 - c["fee_rate"]))
    best = lerner + (c["shipping_cost_usd"] / (e - 1) if payer == "buyer" else 0.0)
    from core.forecast import PRICE_CLIP

    ref = c["price_anchor_usd"]
    inside = (best > PRICE_CLIP[0] * ref) & (best < PRICE_CLIP[1] * ref)
    assert inside.sum() > 1000
    assert np.allclose(c["recommended_price_usd"][inside], best[inside])


@pytest.mark.parametrize("payer", ["seller", "buyer"])
@pytest.mark.parametrize("country", ["DE", "BR", "US"])
def test_recommended_price_maximises_profit(ca, payer, country) -> None:
    """At an unclipped recommended price, profit beats nearby prices (the optimum is real), whoever pays
    shipping."""
    from core.forecast import PRICE_CLIP

    prep = prepare(ca, product(shipping_paid_by=payer, unit_cost=12))
    table = rank(evaluate(prep), countries=[country], top=1)
    best = float(table["recommended_price_usd"].iloc[0])
    ref = float(table["price_anchor_usd"].iloc[0])
    assert PRICE_CLIP[0] * ref < best < PRICE_CLIP[1] * ref  # unclipped, so the optimum is the formula's
    city = int(table["city_id"].iloc[0])
    profits = []
    for k in (0.97, 1.0, 1.03):
        t = rank(evaluate(prep, price=best * k), countries=[country])
        profits.append(float(t.loc[t["city_id"] == city, "profit_usd_month"].iloc[0]))
    assert profits[1] > profits[0] and profits[1] > profits[2], (city, profits)


def test_country_scope_and_top(ca) -> None:
    table = rank_product(ca, product(), countries=["BR", "usa"], top=50)
    assert len(table) == 50
    assert set(table["country_iso2"]) <= {"BR", "US"}
    with pytest.raises(InputError, match="unknown country"):
        rank_product(ca, product(), countries=["ZZ"])


def test_score_terms_add_up(ca) -> None:
    table = rank_product(ca, product())
    opp = table[[c for c in table.columns if c.startswith("opportunity_term_")]].sum(axis=1)
    assert np.allclose(opp.clip(0, 100), table["opportunity_score"])
    comp = table[[c for c in table.columns if c.startswith("competition_term_")]].sum(axis=1)
    assert np.allclose(comp.clip(0, 100), table["competition_index"])
    prof = table["profitability_term_margin"] + table["profitability_term_volume"]
    assert np.allclose(prof, table["profitability_score"])


def test_bounds_bracket_the_estimate(ca) -> None:
    t = rank_product(ca, product())
    assert (t["expected_units_low"] < t["expected_units_month"]).all()
    assert (t["expected_units_month"] < t["expected_units_high"]).all()
    assert np.allclose(t["expected_revenue_usd_month"], t["expected_units_month"] * 30)


# --- properties ---------------------------------------------------------------------------
CATEGORY_NAMES = [c.name for c in all_categories()]
prices = st.floats(min_value=0.5, max_value=5000, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.5, allow_nan=False)
weights = st.builds(
    ScoreWeights,
    demand=st.floats(0.01, 5),
    profitability=st.floats(0, 5),
    competition=st.floats(0, 5),
)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    cat=st.sampled_from(CATEGORY_NAMES),
    price=prices,
    cost_frac=fractions,
    w=weights,
    origin=st.sampled_from([None, "Istanbul, TR", "CN", "Berlin, DE"]),
)
def test_scores_stay_in_range(small, cat, price, cost_frac, w, origin) -> None:
    p = product(category=cat, price=price, unit_cost=price * cost_frac, ships_from=origin, weights=w)
    c = evaluate(prepare(small, p)).columns
    for s in SCORES:
        assert np.all((c[s] >= 0) & (c[s] <= 100)), s
    assert np.all(np.isfinite(c["expected_units_month"]))


@SETTINGS
@given(cat=st.sampled_from(CATEGORY_NAMES), price=prices, bump=st.floats(1.01, 3.0))
def test_units_fall_when_price_rises(small, cat, price, bump) -> None:
    prep = prepare(small, product(category=cat, price=price, unit_cost=0))
    low = evaluate(prep, price=price).columns["expected_units_month"]
    high = evaluate(prep, price=price * bump).columns["expected_units_month"]
    assert np.all(high < low)


@SETTINGS
@given(cat=st.sampled_from(CATEGORY_NAMES), which=st.integers(0, 10_000), extra=st.floats(0.1, 40))
def test_more_online_buyers_never_lowers_demand(city_frame, cat, which, extra) -> None:
    sample = _sample(city_frame)
    which = which % len(sample)
    more = sample.copy()
    more.loc[which, "online_buyers_pct"] = min(100.0, more.loc[which, "online_buyers_pct"] + extra)
    p = product(category=cat)
    before = evaluate(prepare(city_arrays(sample), p)).columns["demand_score"]
    after = evaluate(prepare(city_arrays(more), p)).columns["demand_score"]
    cid = sample.loc[which, "city_id"]
    i_before = np.flatnonzero(city_arrays(sample).city_id == cid)[0]
    assert after[i_before] >= before[i_before] - 1e-9


@SETTINGS
@given(
    cat=st.sampled_from(CATEGORY_NAMES),
    price=prices,
    cost_frac=fractions,
    origin=st.sampled_from([None, "Istanbul, TR", "US"]),
    cac=st.floats(0, 50),
)
def test_recommended_price_above_total_unit_cost(small, cat, price, cost_frac, origin, cac) -> None:
    p = product(category=cat, price=price, unit_cost=price * cost_frac, ships_from=origin)
    c = evaluate(prepare(small, p), cac_per_unit=cac).columns
    assert np.all(c["recommended_price_usd"] > c["total_unit_cost_usd"])


@SETTINGS
@given(cat=st.sampled_from(CATEGORY_NAMES), price=prices)
def test_same_inputs_same_outputs(small, cat, price) -> None:
    p = product(category=cat, price=price, unit_cost=price / 3)
    a = rank(evaluate(prepare(small, p)))
    b = rank(evaluate(prepare(small, p)))
    pd.testing.assert_frame_equal(a, b)


# --- sanity scenarios ---------------------------------------------------------------------
def test_apparel_top20_are_large_rich_metros(ca) -> None:
    top = rank_product(ca, product(price=30, unit_cost=9), top=20)
    ppi = ca.frame.set_index("city_id").loc[top["city_id"], "purchasing_power_index"]
    assert (top["population"] >= 1_000_000).all(), top[["city", "population"]]
    assert (ppi >= 100).all(), ppi


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(pd.Series(a).rank().corr(pd.Series(b).rank()))


def test_staple_ranking_is_driven_more_by_population(ca) -> None:
    apparel = evaluate(prepare(ca, product(price=30, unit_cost=9))).columns["expected_units_month"]
    staple = evaluate(
        prepare(ca, product(category="Food, Beverages & Tobacco", price=5, unit_cost=2))
    ).columns["expected_units_month"]
    income = ca.income_ppp
    assert _spearman(staple, ca.population) > _spearman(apparel, ca.population)
    assert _spearman(staple, income) < _spearman(apparel, income)


def test_heavy_item_from_istanbul_favours_near_markets(city_frame) -> None:
    """Two identical cities (same country, income, adoption) at different distances."""
    base = city_frame[city_frame["country_iso2"] == "DE"].nlargest(1, "population").iloc[0]
    istanbul = city_frame[(city_frame["name"] == "Istanbul") & (city_frame["country_iso2"] == "TR")]
    near = base.copy()
    far = base.copy()
    near["city_id"], near["lat"], near["lon"] = 1, 48.2, 16.4  # near Vienna, ~1,250 km
    far["city_id"], far["lat"], far["lon"] = 2, 41.9, -87.6  # Chicago, ~8,800 km
    frame = pd.concat([istanbul, pd.DataFrame([near, far])], ignore_index=True)
    ca = city_arrays(frame)
    table = rank_product(
        ca, product(category="Furniture", price=400, unit_cost=150, ships_from="Istanbul, TR")
    )
    by_id = table.set_index("city_id")
    assert by_id.loc[1, "expected_units_month"] > by_id.loc[2, "expected_units_month"]
    assert by_id.loc[1, "profitability_score"] > by_id.loc[2, "profitability_score"]
    assert by_id.loc[1, "rank"] < by_id.loc[2, "rank"]
    assert by_id.loc[1, "delivery_days"] < by_id.loc[2, "delivery_days"]
    assert by_id.loc[1, "shipping_cost_usd"] < by_id.loc[2, "shipping_cost_usd"]


@pytest.mark.parametrize("origin", [None, "Istanbul, TR"])
def test_precomputed_medians_match(ca, origin) -> None:
    prep = prepare(ca, product(category="Health & Beauty", ships_from=origin, target_ages="25-34"))
    for name, values in prep.log_terms.items():
        assert prep.log_term_medians[name] == pytest.approx(float(np.median(values)), abs=1e-12), name


@pytest.mark.parametrize("payer", ["seller", "buyer"])
def test_demand_terms_are_points_from_the_median_city(small, payer) -> None:
    """Every demand term, price included (which with buyer-paid shipping differs by city beyond the local
    reference price), is 0 at its median over the cities: "relative to the median city" as the page says."""
    ev = evaluate(prepare(small, product(ships_from="Istanbul, TR", shipping_paid_by=payer)), price=27.0)
    terms = [c for c in ev.columns if c.startswith("demand_term_")]
    assert "demand_term_price" in terms
    for col in terms:
        assert float(np.median(ev.columns[col])) == pytest.approx(0.0, abs=1e-9), col


def test_city_info_keeps_order_and_refuses_unknown_ids(ca) -> None:
    ids = [3448439, 2950159, 5128581]  # São Paulo, Berlin, New York City
    info = city_info(ca, ids, extra=("online_buyers_pct",))
    assert list(info["city"]) == ["São Paulo", "Berlin", "New York City"]
    assert list(info.columns) == [
        "city",
        "region",
        "country_iso2",
        "lat",
        "lon",
        "population",
        "online_buyers_pct",
    ]
    with pytest.raises(InputError):
        city_info(ca, [1])


# --- honest headline numbers ---------------------------------------------------------------
def test_loss_making_cities_are_flagged_and_kept_out_of_profit(ca) -> None:
    from core.forecast import whatif

    table = rank_product(
        ca,
        product(
            category="Home & Garden",
            price=25,
            unit_cost=10,
            ships_from="Istanbul, TR",
            shipping_paid_by="seller",
        ),
        top=200,
    )
    loss = table["profit_usd_month"] < 0
    assert loss.any() and (~loss).any()
    assert (table["loss_making"] == (table["unit_margin_usd"] < 0)).all()
    m = whatif.headline_metrics(table)
    assert m["profit"] == pytest.approx(table.loc[~loss, "profit_usd_month"].sum())
    assert m["loss"] == pytest.approx(table.loc[loss, "profit_usd_month"].sum()) and m["loss"] < 0
    assert m["loss_cities"] == loss.sum()


@SETTINGS
@given(
    cat=st.sampled_from(CATEGORY_NAMES),
    price=prices,
    cost_frac=fractions,
    origin=st.sampled_from([None, "Istanbul, TR"]),
)
def test_recommended_price_within_market_bounds_unless_costs_force_it(
    small, cat, price, cost_frac, origin
) -> None:
    from core.forecast import PRICE_CLIP

    c = evaluate(
        prepare(small, product(category=cat, price=price, unit_cost=price * cost_frac, ships_from=origin))
    ).columns
    ref, rec = c["price_anchor_usd"], c["recommended_price_usd"]
    inside = (rec >= PRICE_CLIP[0] * ref * (1 - 1e-9)) & (rec <= PRICE_CLIP[1] * ref * (1 + 1e-9))
    assert np.all(inside | c["price_above_market"])
    assert np.all(~c["price_above_market"] | (rec > PRICE_CLIP[1] * ref))


@pytest.mark.parametrize("payer", ["seller", "buyer"])
def test_good_price_range_brackets_the_best_price(ca, payer) -> None:
    from core.forecast import FLAT_PROFIT_SHARE, PRICE_CLIP

    p = product(category="Home & Garden", price=25, unit_cost=10, shipping_paid_by=payer)
    ev = evaluate(prepare(ca, p))
    table = rank(ev, top=100)
    ok = table["good_price_low_usd"].notna()
    assert ok.any()
    t = table[ok]
    ref = t["price_anchor_usd"]
    assert (t["good_price_low_usd"] <= t["good_price_high_usd"]).all()
    assert (t["good_price_low_usd"] >= PRICE_CLIP[0] * ref * 0.999).all() and (
        t["good_price_high_usd"] <= PRICE_CLIP[1] * ref * 1.001
    ).all()
    # profit at the range's ends is at least FLAT_PROFIT_SHARE of the best profit in the bounds
    e = ev.prepared.category.price_elasticity
    keep = (1 - t["fee_rate"]).to_numpy()
    cost = t["total_unit_cost_usd"].to_numpy()
    freight = t["buyer_freight_usd"].to_numpy()  # demand responds to what the buyer pays
    assert (freight > 0).all() == (payer == "buyer")

    def profit(price):
        price = np.asarray(price, float)
        return (price + freight) ** -e * (price * keep - cost)

    grid = np.geomspace(PRICE_CLIP[0], PRICE_CLIP[1], 401)[:, None] * ref.to_numpy()[None, :]
    best = np.max(profit(grid), axis=0)
    assert (profit(t["good_price_low_usd"]) >= FLAT_PROFIT_SHARE * best * 0.999).all()
    assert (profit(t["good_price_high_usd"]) >= FLAT_PROFIT_SHARE * best * 0.999).all()


def test_no_district_in_any_ranking(ca) -> None:
    sections = set(ca.sections["city_id"])
    assert len(sections) > 3000
    for cat in ("Home & Garden", "Electronics", "Apparel & Accessories"):
        table = rank_product(ca, product(category=cat), top=50)
        assert table["city_id"].is_unique and not sections & set(table["city_id"])
        names = set(table["city"])
        assert not names & {"Brooklyn", "Queens", "Manhattan", "Kowloon", "Esenyurt", "Puxi", "Pudong"}


def test_bigger_cities_have_more_demand_per_person(ca) -> None:
    """Urban scaling: inside a country, expected units per inhabitant rise with city size."""
    ev = evaluate(prepare(ca, product(category="Home & Garden", price=25, unit_cost=10)))
    units = ev.columns["expected_units_month"]
    for iso in ("BR", "TR", "US"):
        inside = np.flatnonzero(
            (ca.iso2 == iso) & (ev.columns["delivery_days"] <= np.median(ev.columns["delivery_days"]))
        )
        per_head = np.log(units[inside] / ca.population[inside])
        slope = np.polyfit(np.log(ca.population[inside]), per_head, 1)[0]
        assert slope > 0, iso


def test_evaluate_keeps_its_inputs_and_names_a_bad_one(small) -> None:
    """The evaluation carries the price, costs and weights it was made with (the what-if views read them);
    a bad input is an InputError naming its field; the term columns are the prepared arrays themselves."""
    prep = prepare(small, product())
    ev = evaluate(prep, price=31.0, unit_cost=9.0, cac_per_unit=2.0)
    assert (ev.price, ev.unit_cost, ev.cac_per_unit, ev.weights) == (31.0, 9.0, 2.0, prep.product.weights)
    for col, arr in {
        "online_buyers": prep.online_buyers,
        "spend_per_buyer_usd_year": prep.spend_per_buyer_usd_year,
        "distance_km": prep.distance_km,
        "buyer_freight_usd": prep.buyer_freight,
        "seller_freight_usd": prep.seller_freight,
    }.items():
        assert np.array_equal(ev.columns[col], arr), col
    for kwargs, field in (
        ({"price": 0.0}, "price"),
        ({"unit_cost": -1.0}, "unit_cost"),
        ({"cac_per_unit": -1.0}, "unit_cost"),
    ):
        with pytest.raises(InputError) as err:
            evaluate(prep, **kwargs)
        assert err.value.field == field


def test_prepared_fulfilment_is_the_documented_one(small) -> None:
    """The prepared evaluation keeps its resolved origin, and demand's delivery factor is methodology
    section 4's ((1 + reference days) / (1 + days)) ^ elasticity: 1 at the reference delivery time."""
    from core.forecast import DELIVERY_ELASTICITY, REFERENCE_DELIVERY_DAYS

    prep = prepare(small, product(ships_from="Istanbul, TR"))
    assert prep.origin == resolve_origin("Istanbul, TR", small) and prep.origin.iso2 == "TR"
    assert prepare(small, product()).origin is None
    expected = ((1 + REFERENCE_DELIVERY_DAYS) / (1 + prep.delivery_days)) ** DELIVERY_ELASTICITY
    assert np.allclose(prep.delivery_factor, expected)
    assert np.all((prep.delivery_factor > 1) == (prep.delivery_days < REFERENCE_DELIVERY_DAYS))


def test_recommended_price_floor_is_the_named_markup(ca) -> None:
    """Where costs force the floor, the recommended price is exactly PRICE_FLOOR_MARKUP x total cost net of fees
    (issue 22: the 1.05 was an unnamed literal that a mutant could change unseen)."""
    from core.forecast import PRICE_FLOOR_MARKUP

    ev = evaluate(prepare(ca, product(price=30, unit_cost=200)))
    c = ev.columns
    floor = c["total_unit_cost_usd"] * PRICE_FLOOR_MARKUP / (1 - c["fee_rate"])
    forced = c["price_above_market"]
    assert forced.any()
    assert np.allclose(c["recommended_price_usd"][forced], floor[forced])
    assert np.all(c["recommended_price_usd"] >= floor - 1e-9)


def test_no_weights_put_cities_without_demand_first(ca) -> None:
    """Issue 25 item 1: with a low-competition weight of 0.7 the top cities still sell; the gate is the
    documented rule (opportunity scales with demand below MEANINGFUL_DEMAND_SCORE) and leaves the rest alone."""
    from core.forecast import MEANINGFUL_DEMAND_SCORE

    ev = evaluate(
        prepare(ca, product(name="Towel set", category="Home & Garden", price=25, unit_cost=10)),
        weights=ScoreWeights(demand=0.1, profitability=0.2, competition=0.7),
    )
    c = ev.columns
    top = order(ev, top=20)
    assert np.all(c["demand_score"][top] >= 0.8 * MEANINGFUL_DEMAND_SCORE)  # real markets, not empty ones
    weighted = sum(c[f"opportunity_term_{k}"] for k in ("demand", "profitability", "low_competition"))
    assert np.allclose(np.clip(weighted, 0, 100), c["opportunity_score"])
    full = 0.1 * c["demand_score"] + 0.2 * c["profitability_score"] + 0.7 * (100 - c["competition_index"])
    gate = np.minimum(c["demand_score"] / MEANINGFUL_DEMAND_SCORE, 1)
    assert np.allclose(c["opportunity_score"], np.clip(gate * full, 0, 100))
    assert np.all(c["opportunity_score"][c["demand_score"] == 0] == 0)


@given(ratio=st.floats(0.05, 20.0))
def test_price_anchor_is_the_products_own_price_far_from_the_category(ratio: float) -> None:
    """Issue 25.4: within ANCHOR_RATIO of the category's typical price the category anchors the
    recommendation; beyond it in either direction the analyst's own price does."""
    from core.forecast import ANCHOR_RATIO, price_anchor_of

    typical = 40.0
    anchor, source = price_anchor_of(ratio * typical, typical)
    far = ratio >= ANCHOR_RATIO or ratio <= 1 / ANCHOR_RATIO
    assert source == ("product" if far else "category")
    assert anchor == pytest.approx(ratio * typical if far else typical)


@pytest.mark.parametrize(("price", "cost"), [(300.0, 120.0), (12.0, 2.0), (120.0, 40.0)])
def test_recommended_price_stays_around_the_products_own_price(ca, price: float, cost: float) -> None:
    """A $300 headset is not told to sell at the category's $120, nor a $12 cable at $80: the bounds sit
    around the anchor price_anchor_of picks, at each city's price level."""
    from core.forecast import PRICE_CLIP, PRICE_LEVEL_PASS_THROUGH, price_anchor_of

    p = validate_product(name="Headset", category="Electronics", price=price, unit_cost=cost)
    c = evaluate(prepare(ca, p)).columns
    anchor, _ = price_anchor_of(price, p.category_row().typical_price_usd)
    local = anchor * ca.price_level**PRICE_LEVEL_PASS_THROUGH
    assert np.allclose(c["price_anchor_usd"], local)
    rec = c["recommended_price_usd"]
    ok = (rec >= PRICE_CLIP[0] * local * (1 - 1e-9)) & (rec <= PRICE_CLIP[1] * local * (1 + 1e-9))
    assert np.all(ok | c["price_above_market"])


def test_customs_unions_and_free_trade_areas_waive_the_duty(ca) -> None:
    """Issue 25.13: apparel shipped from Turkey enters Germany and the UK duty-free (EU-Turkey customs
    union, UK-Turkey FTA) but pays the category's duty in the US; food from Turkey pays it in Germany too
    (the customs union covers industrial goods)."""
    from core.forecast import PAYMENT_FEE_PCT, duty_free

    def fee(iso: str, category: str) -> float:
        p = validate_product(name="X", category=category, price=30, unit_cost=8, ships_from="Istanbul, TR")
        prep = prepare(ca, p)
        return float(prep.fee_rate[np.flatnonzero(ca.iso2 == iso)[0]])

    base = PAYMENT_FEE_PCT / 100
    apparel = resolve_category("Apparel & Accessories")
    assert fee("DE", "Apparel & Accessories") == pytest.approx(base)
    assert fee("GB", "Apparel & Accessories") == pytest.approx(base)
    assert fee("US", "Apparel & Accessories") == pytest.approx(base + apparel.duty_pct / 100)
    food = resolve_category("412")
    assert fee("DE", "412") == pytest.approx(base + food.duty_pct / 100)
    assert list(duty_free("DE", np.array(["FR", "TR", "US", "DE"]), apparel.id)) == [True, True, False, True]
    assert list(duty_free("US", np.array(["MX", "CA", "BR"]), food.id)) == [True, True, False]


@pytest.mark.parametrize("payer", ["seller", "buyer"])
@pytest.mark.parametrize("unit_cost", [1.0, 10.0, 18.0])
def test_good_price_range_is_every_price_in_the_bounds_that_earns_the_share(ca, payer, unit_cost) -> None:
    """Not only do the ends earn FLAT_PROFIT_SHARE of the best profit in the bounds: every price inside the
    range does, and no price in the bounds outside it does (the range is the whole set, not a part of it),
    also where the unconstrained best price lies below the bounds (a cheap product) or above them."""
    from core.forecast import FLAT_PROFIT_SHARE, PRICE_CLIP

    p = product(category="Home & Garden", price=25, unit_cost=unit_cost, shipping_paid_by=payer)
    ev = evaluate(prepare(ca, p))
    t = rank(ev, top=60)
    t = t[t["good_price_low_usd"].notna()]
    assert len(t) > 10
    e = ev.prepared.category.price_elasticity
    keep, cost = (1 - t["fee_rate"]).to_numpy(), t["total_unit_cost_usd"].to_numpy()
    freight, ref = t["buyer_freight_usd"].to_numpy(), t["price_anchor_usd"].to_numpy()
    grid = np.geomspace(PRICE_CLIP[0], PRICE_CLIP[1], 601)[:, None] * ref[None, :]
    profit = (grid + freight) ** -e * (grid * keep - cost)
    best = profit.max(axis=0)
    inside = (grid >= t["good_price_low_usd"].to_numpy() * 1.002) & (
        grid <= t["good_price_high_usd"].to_numpy() * 0.998
    )
    outside = (grid < t["good_price_low_usd"].to_numpy() * 0.998) | (
        grid > t["good_price_high_usd"].to_numpy() * 1.002
    )
    share = profit / best
    assert (share[inside] >= FLAT_PROFIT_SHARE - 1e-3).all()
    assert (share[outside] <= FLAT_PROFIT_SHARE + 1e-3).all()
