"""Climate, season and the within-country income gradient (issue 23; docs/methodology.md sections 2 and 2b).

Each derived figure is tied to its source function or constant, not to a copied number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.forecast import (
    WITHIN_COUNTRY_INCOME_SHARE,
    city_arrays,
    evaluate,
    parse_months,
    prepare,
    rank,
    rank_product,
    stored_product,
    validate_product,
)
from core.forecast import season as ss
from core.places import climate

HOT = ("Af", "Am", "As", "Aw", "BWh", "BSh")  # tropical and hot-arid zones


def product(**kw):
    base = {"name": "Test product", "category": "Apparel & Accessories", "price": 50.0, "unit_cost": 18.0}
    return validate_product(**(base | kw))


# --- pure functions ----------------------------------------------------------------------------
@given(st.floats(-50, 50), st.floats(0.1, 20))
def test_need_moves_with_temperature(t, dt) -> None:
    """Colder never lowers the need for a cold-weather product, warmer never lowers a warm-weather one's."""
    cold = ss.monthly_need(np.array([t, t - dt]), "cold")
    warm = ss.monthly_need(np.array([t, t + dt]), "warm")
    assert cold[1] >= cold[0] and warm[1] >= warm[0]
    assert cold.min() >= 0 and cold.max() <= 1 and warm.min() >= 0 and warm.max() <= 1


def test_need_thresholds_are_the_documented_constants() -> None:
    assert ss.monthly_need(np.array([ss.COLD_NEED_BELOW_C]), "cold")[0] == 0
    assert ss.monthly_need(np.array([ss.COLD_NEED_BELOW_C - ss.COLD_NEED_SPAN_C]), "cold")[0] == 1
    assert ss.monthly_need(np.array([ss.WARM_NEED_ABOVE_C]), "warm")[0] == 0
    assert ss.monthly_need(np.array([ss.WARM_NEED_ABOVE_C + ss.WARM_NEED_SPAN_C]), "warm")[0] == 1


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-40, 40), min_size=12, max_size=12),
    st.sampled_from(["cold", "warm", "none"]),
    st.sets(st.integers(1, 12), max_size=12),
)
def test_profile_averages_one_and_fit_is_the_mean(temps, climate_kind, months) -> None:
    monthly = ss.monthly_demand(np.array([temps]), climate_kind, tuple(sorted(months)))
    profile = ss.seasonal_profile(monthly)
    assert profile.mean() == pytest.approx(1.0)
    fit = ss.climate_fit(ss.monthly_demand(np.array([temps]), climate_kind), climate_kind)[0]
    if climate_kind == "none":
        assert fit == 1.0
    else:
        floor = ss.CLIMATE_FLOOR[climate_kind]
        assert floor <= fit <= 1.0
        assert fit == pytest.approx(
            float(np.mean(floor + (1 - floor) * ss.monthly_need(np.array(temps), climate_kind)))
        )


def test_without_climate_or_season_the_profile_is_flat() -> None:
    temps = climate.monthly_temperature(np.array(["Dfb", "Af"]), np.array([55.0, 1.0]))
    assert np.all(ss.seasonal_profile(ss.monthly_demand(temps, "none")) == 1.0)


def test_calendar_season_is_the_same_everywhere() -> None:
    temps = climate.monthly_temperature(np.array(["Dfb", "Af", "Cfb"]), np.array([55.0, 1.0, -40.0]))
    profile = ss.seasonal_profile(ss.monthly_demand(temps, "none", (11, 12)))
    assert np.allclose(profile, profile[0])
    assert profile[0, 11] / profile[0, 0] == pytest.approx(1 / ss.CALENDAR_FLOOR)


def test_hemispheres_mirror() -> None:
    """The same zone at the same distance from the equator: July north is January south."""
    t = climate.monthly_temperature(np.array(["Cfb", "Cfb"]), np.array([45.0, -45.0]))
    assert t[0, climate.WARMEST_MONTH_NORTH - 1] == pytest.approx(t[1, climate.WARMEST_MONTH_SOUTH - 1])
    assert (
        t[0].argmax() + 1 == climate.WARMEST_MONTH_NORTH and t[1].argmax() + 1 == climate.WARMEST_MONTH_SOUTH
    )


def test_coldest_month_stays_in_the_zone_range_and_falls_poleward() -> None:
    table = climate.zone_table()
    for zone, row in table.iterrows():
        lats = np.linspace(0, 90, 10)
        cold = climate.coldest_month(np.full(10, zone), lats)
        assert np.all(cold >= row["coldest_month_low_c"] - 1e-9) and np.all(
            cold <= row["coldest_month_high_c"] + 1e-9
        )
        assert np.all(np.diff(cold) <= 1e-9), zone


@pytest.mark.parametrize(
    ("months", "label"),
    [
        ([11, 12, 1, 2], "Nov–Feb"),
        ([6, 7, 8], "Jun–Aug"),
        ([1], "Jan"),
        (list(range(1, 13)), "all year"),
        ([1, 3, 5], "Jan, Mar, May"),
        ([12, 1, 6, 7], "Jun–Jul, Dec–Jan"),
        ([], "none"),
    ],
)
def test_month_range(months, label) -> None:
    assert climate.month_range(months) == label


@given(st.lists(st.lists(st.floats(0.05, 3), min_size=12, max_size=12), min_size=1, max_size=8))
def test_best_months_of_matches_best_months(rows) -> None:
    profiles = np.array(rows)
    assert list(ss.best_months_of(profiles)) == [ss.best_months(r) for r in profiles]


@pytest.mark.parametrize(
    ("text", "months"),
    [("11-1", (1, 11, 12)), ("11,12", (11, 12)), ("none", ()), ("", ()), ([12, 11], (11, 12)), ("3", (3,))],
)
def test_parse_months(text, months) -> None:
    assert parse_months(text) == months


@pytest.mark.parametrize("bad", ["13", "a-b", [0], [True], "1-13", 5.5])
def test_parse_months_refuses(bad) -> None:
    with pytest.raises(InputError):
        parse_months(bad)


def test_ad_windows_lead_the_season() -> None:
    temps = climate.monthly_temperature(np.array(["Dfb", "Dfb", "Af"]), np.array([55.0, -55.0, 1.0]))
    profiles = ss.seasonal_profile(ss.monthly_demand(temps, "cold"))
    (north_best, north_start), (south_best, south_start), (flat_best, flat_start) = ss.ad_windows(profiles)
    first_north = int(np.flatnonzero(profiles[0] >= ss.BEST_MONTH_SHARE * profiles[0].max())[0])
    assert north_best == ss.best_months(profiles[0]) and south_best == ss.best_months(profiles[1])
    assert north_start != south_start and north_start in ss.MONTH_NAMES
    assert flat_best == "all year" and flat_start is None
    # the south's window is the north's, six months on
    assert ss.MONTH_NAMES.index(south_start) == (ss.MONTH_NAMES.index(north_start) + 6) % 12
    assert first_north >= 0


# --- the engine ----------------------------------------------------------------------------------
def _twins(city_frame: pd.DataFrame, zones: dict[int, tuple[str, float]]) -> pd.DataFrame:
    """Copies of one large city that differ only in climate zone and latitude (id -> (zone, lat))."""
    base = city_frame[city_frame["country_iso2"] == "DE"].nlargest(1, "population").iloc[0]
    rows = []
    for cid, (zone, lat) in zones.items():
        r = base.copy()
        r["city_id"], r["koppen_zone"], r["lat"] = cid, zone, lat
        rows.append(r)
    return pd.DataFrame(rows).reset_index(drop=True)


def test_climate_fit_moves_demand_and_is_in_the_score(city_frame) -> None:
    ca = city_arrays(_twins(city_frame, {1: ("Af", 50.0), 2: ("Dfb", 50.0)}))  # same place, other climate
    jacket = rank_product(ca, product(name="Down winter jacket")).set_index("city_id")
    swim = rank_product(ca, product(name="Women's swimsuit")).set_index("city_id")
    plain = rank_product(ca, product(name="Leather wallet")).set_index("city_id")
    assert jacket.loc[2, "expected_units_month"] > jacket.loc[1, "expected_units_month"]
    assert swim.loc[1, "expected_units_month"] > swim.loc[2, "expected_units_month"]
    assert plain.loc[1, "expected_units_month"] == pytest.approx(plain.loc[2, "expected_units_month"])
    # units in proportion to the climate fit; the score term is its log (points relative to the median)
    for t in (jacket, swim):
        assert t.loc[1, "expected_units_month"] / t.loc[2, "expected_units_month"] == pytest.approx(
            t.loc[1, "climate_fit"] / t.loc[2, "climate_fit"]
        )
        better = 1 if t.loc[1, "climate_fit"] > t.loc[2, "climate_fit"] else 2
        assert t.loc[better, "demand_term_climate"] > t.loc[3 - better, "demand_term_climate"]
    assert plain.loc[1, "climate_fit"] == 1.0 and plain.loc[1, "demand_term_climate"] == 0.0


def test_launch_month_moves_hemispheres(city_frame) -> None:
    ca = city_arrays(_twins(city_frame, {1: ("Cfb", 50.0), 2: ("Cfb", -40.0)}))
    jan = rank_product(ca, product(name="Down winter jacket", launch_month=1)).set_index("city_id")
    jul = rank_product(ca, product(name="Down winter jacket", launch_month=7)).set_index("city_id")
    assert jan.loc[1, "rank"] == 1 and jul.loc[2, "rank"] == 1
    prep = prepare(ca, product(name="Down winter jacket", launch_month=7))
    assert jul.loc[2, "season_factor"] == pytest.approx(prep.seasonal_profile[1, 6])
    assert jan.loc[1, "best_months"] == ss.best_months(prep.seasonal_profile[0])


def test_without_seasonality_every_month_ranks_the_same(ca) -> None:
    base = rank(evaluate(prepare(ca, product(name="Leather wallet"))), top=100)
    for month in (1, 4, 7, 10):
        other = rank(evaluate(prepare(ca, product(name="Leather wallet", launch_month=month))), top=100)
        assert list(other["city_id"]) == list(base["city_id"])
        assert np.allclose(other["expected_units_month"], base["expected_units_month"])


def test_explicit_attributes_win_and_old_forecasts_keep_none() -> None:
    read = product(name="Down winter jacket")
    assert read.climate == "cold" and read.product_type.endswith("Coats & Jackets")
    corrected = product(name="Down winter jacket", climate="none", season_months="none")
    assert corrected.climate == "none" and corrected.season_months == ()
    old = stored_product(
        {"name": "Down winter jacket", "category": "Apparel & Accessories", "price": 50, "unit_cost": 18}
    )
    assert validate_product(**old).climate == "none" and validate_product(**old).season_months == ()


def test_within_country_gradient_is_the_documented_share(city_frame) -> None:
    """Two identical cities whose regions differ in income: spend per buyer differs by the category's income
    elasticity times WITHIN_COUNTRY_INCOME_SHARE of the log ratio, not by the full ratio."""
    base = (
        city_frame[(city_frame["country_iso2"] == "DE") & city_frame["parent_city_id"].isna()]
        .nlargest(1, "population")
        .iloc[0]
    )
    rich, poor = base.copy(), base.copy()
    rich["city_id"], poor["city_id"] = 1, 2
    country = base["gdp_per_capita_ppp"] / base["region_income_ratio"]
    rich["region_income_ratio"], poor["region_income_ratio"] = 1.5, 0.75
    rich["gdp_per_capita_ppp"], poor["gdp_per_capita_ppp"] = 1.5 * country, 0.75 * country
    ca = city_arrays(pd.DataFrame([rich, poor]))
    prep = prepare(ca, product(name="Leather wallet"))
    e = prep.category.income_elasticity
    assert prep.spend_per_buyer_usd_year[0] / prep.spend_per_buyer_usd_year[1] == pytest.approx(
        2.0 ** (WITHIN_COUNTRY_INCOME_SHARE * e)
    )


def test_cold_products_avoid_hot_cities_in_the_world_top_20(ca) -> None:
    """The mechanism on products it was not built from (names read by the classifier, not set by hand)."""
    zone = dict(zip(ca.city_id, ca.koppen, strict=True))
    for name, category in [
        ("Thermal gloves for winter", "Apparel & Accessories"),
        ("Electric heated blanket", "Home & Garden"),
        ("Snowboard jacket", "Sporting Goods"),
        ("Merino wool thermal socks", "Apparel & Accessories"),
    ]:
        p = validate_product(name=name, category=category, price=40, unit_cost=12)
        assert p.climate == "cold", name
        top = rank(evaluate(prepare(ca, p)), top=20)
        assert not [c for c in top["city_id"] if zone[c] in HOT], name


def test_warm_products_favour_hot_cities_more_than_cold_ones(ca) -> None:
    zone = dict(zip(ca.city_id, ca.koppen, strict=True))

    def hot_share(name: str, category: str) -> float:
        top = rank(
            evaluate(prepare(ca, validate_product(name=name, category=category, price=40, unit_cost=12))),
            top=50,
        )
        return float(np.mean([zone[c] in HOT for c in top["city_id"]]))

    warm = np.mean(
        [
            hot_share("Bikini swimwear", "Apparel & Accessories"),
            hot_share("Portable misting fan", "Home & Garden"),
        ]
    )
    cold = np.mean(
        [
            hot_share("Winter parka", "Apparel & Accessories"),
            hot_share("Oil radiator heater", "Home & Garden"),
        ]
    )
    assert warm > cold + 0.1


def test_pdf_cover_states_climate_season_and_type(ca) -> None:
    import io

    from pypdf import PdfReader

    from core.render import pdf as pdf_report

    p = validate_product(
        name="Down winter jacket", category="Apparel & Accessories", price=50, unit_cost=18, launch_month=7
    )
    table = rank(evaluate(prepare(ca, p)), top=5)
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(product=p.model_dump(mode="json"), table=table, charts=[], depth="summary")
    )
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")
    assert ss.describe(p.climate, p.season_months, p.launch_month)[:40] in text
    assert "Coats & Jackets" in text and "July" in text


def test_rests_on_population_names_countries_whose_ranking_follows_size() -> None:
    from core.forecast import whatif

    n = whatif.MIN_CITIES_FOR_POPULATION_NOTE
    pop = np.arange(1, n + 1) * 1000.0
    follows = pd.DataFrame({"country_iso2": "AA", "population": pop, "expected_units_month": pop / 100})
    mixed = pd.DataFrame({"country_iso2": "BB", "population": pop, "expected_units_month": pop[::-1]})
    few = pd.DataFrame(
        {"country_iso2": "CC", "population": pop[: n - 1], "expected_units_month": pop[: n - 1]}
    )
    out = whatif.rests_on_population(pd.concat([follows, mixed, few]))
    assert [iso for iso, _ in out] == ["AA"] and out[0][1] == pytest.approx(1.0)


@pytest.mark.parametrize("zone", ["Cfb", "Dfb", "Af", "BWh", "Csa"])
def test_monthly_curve_runs_from_the_coldest_month_to_the_zones_warmest(zone) -> None:
    """The modelled year spans exactly the city's coldest month and its zone's warmest month (table values),
    and the coldest month moves linearly between the zone's latitude anchors."""
    row = climate.zone_table().loc[zone]
    lo, hi = row["abs_lat_low"], row["abs_lat_high"]
    lats = np.array([lo, (lo + hi) / 2, hi, -hi])
    cold = climate.coldest_month(np.full(4, zone), lats)
    assert cold[0] == pytest.approx(row["coldest_month_high_c"]) and cold[2] == pytest.approx(
        row["coldest_month_low_c"]
    )
    assert cold[1] == pytest.approx((row["coldest_month_high_c"] + row["coldest_month_low_c"]) / 2)
    assert cold[3] == pytest.approx(cold[2])  # the southern hemisphere by |latitude|
    temps = climate.monthly_temperature(np.full(4, zone), lats)
    assert np.allclose(temps.max(axis=1), row["warmest_month_c"]) and np.allclose(temps.min(axis=1), cold)
    assert np.allclose(temps.mean(axis=1), (cold + row["warmest_month_c"]) / 2)


def test_unknown_zones_have_no_temperatures_and_no_names() -> None:
    assert np.isnan(climate.coldest_month(np.array(["Zz"]), np.array([10.0]))).all()
    assert list(climate.zone_names(np.array(["Cfb", "Zz"]))) == ["Cfb Temperate oceanic", "Zz"]


def _profile(best: list[int], high: float = 2.0, low: float = 0.5) -> np.ndarray:
    return np.array([[high if m in best else low for m in range(1, 13)]])


@pytest.mark.parametrize(
    ("best", "label", "start"),
    [
        ([11, 12, 1, 2], "Nov–Feb", "October"),
        ([6, 7, 8], "Jun–Aug", "May"),
        ([1], "Jan", "December"),
    ],
)
def test_ad_window_starts_the_documented_lead_before_the_season(best, label, start) -> None:
    [(got_label, got_start)] = ss.ad_windows(_profile(best))
    assert got_label == label and got_start == start
    first = best[0]
    assert ss.MONTH_NAMES.index(got_start) == (first - 1 - ss.AD_LEAD_MONTHS) % 12


def test_ad_window_follows_the_longest_run() -> None:
    row = _profile([1, 2, 6, 7, 8])
    [(label, start)] = ss.ad_windows(row)
    assert label == "Jan–Feb, Jun–Aug" and start == "May"
    assert ss.ad_windows(np.ones((2, 12))) == [("all year", None), ("all year", None)]


def test_best_months_threshold_is_the_documented_share() -> None:
    row = np.full(12, 0.1)
    row[0], row[1], row[2] = 1.0, ss.BEST_MONTH_SHARE, ss.BEST_MONTH_SHARE - 0.01
    assert ss.best_months(row) == "Jan–Feb"
    assert ss.best_months(np.full(12, 0.7)) == "all year"


@pytest.mark.parametrize(
    ("climate_kind", "months", "launch", "words"),
    [
        ("cold", (), None, ["Cold-weather product", "cold months", "ranked by the average month"]),
        ("warm", (), 7, ["Warm-weather product", "hot months", "ranked by July sales"]),
        (
            "none",
            (11, 12),
            12,
            ["No climate affinity", "calendar season Nov–Dec", "ranked by December sales"],
        ),
    ],
)
def test_describe_states_what_the_forecast_assumed(climate_kind, months, launch, words) -> None:
    text = ss.describe(climate_kind, months, launch)
    for w in words:
        assert w in text, (w, text)


def test_ad_window_ties_and_the_threshold() -> None:
    """Two equally long runs: the one starting earlier in the calendar year leads (ties are stable); a month at
    exactly BEST_MONTH_SHARE of the peak counts as a best month for the window too."""
    [(label, start)] = ss.ad_windows(_profile([1, 2, 6, 7]))
    assert label == "Jan–Feb, Jun–Jul" and start == "December"
    row = np.full((1, 12), 0.1)
    row[0, 4], row[0, 5] = ss.BEST_MONTH_SHARE, 1.0  # May at exactly the share, June the peak
    [(label, start)] = ss.ad_windows(row)
    assert label == "May–Jun" and start == "April"
