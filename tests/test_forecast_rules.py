"""Rules of the forecast room that a mutation sample (make mutate-sample) showed no test held: each city's
uncertainty from its flags, the medians the score points are relative to, the ranking's data columns, the
price anchor's boundary, the matchers' error fields, the season text's edge cases, and the what-if
comparisons on stored tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.forecast import cities as cities_mod
from core.forecast import custom, evaluate, inputs, prepare, pricing, validate_product, whatif
from core.forecast.understanding import i_plurals, singular, understand


def test_each_citys_uncertainty_adds_its_flags_variances(ca) -> None:
    f = ca.frame
    imputed = f["online_buyers_pct_flag"].to_numpy() == "imputed"
    weak = np.isin(f["income_flag"].to_numpy(), ["inherited", "imputed"])
    assert imputed.any() and weak.any() and (~imputed & ~weak).any()
    expected = np.sqrt(
        cities_mod.SIGMA_BASE**2
        + imputed * cities_mod.SIGMA_IMPUTED_ADOPTION**2
        + weak * cities_mod.SIGMA_INHERITED_INCOME**2
    )
    np.testing.assert_allclose(ca.sigma, expected, rtol=1e-12)


def test_the_city_size_median_is_the_median_citys(ca) -> None:
    assert ca.medians["log_city_size"] == pytest.approx(float(np.median(np.log(ca.city_size))), abs=1e-12)
    assert ca.medians["log_city_size"] != 0.0  # the table has the size factor: not the no-column default


def test_the_ranking_carries_the_climate_fit_and_the_border_flag(ca) -> None:
    product = validate_product(
        name="Down winter jacket",
        category="Apparel & Accessories",
        price=80,
        unit_cost=30,
        ships_from="Berlin, DE",
    )
    prep = prepare(ca, product)
    cols = evaluate(prep).columns
    np.testing.assert_array_equal(cols["climate_fit"], prep.climate_fit)
    np.testing.assert_array_equal(cols["cross_border"], prep.cross_border.astype(float))
    assert (
        cols["cross_border"][ca.iso2 == "DE"].max() == 0.0
        and cols["cross_border"][ca.iso2 == "FR"].min() == 1.0
    )


def test_the_price_anchor_moves_to_the_product_at_exactly_the_ratio() -> None:
    typical = 40.0
    assert pricing.price_anchor_of(pricing.ANCHOR_RATIO * typical, typical) == (
        pricing.ANCHOR_RATIO * typical,
        "product",
    )
    assert pricing.price_anchor_of(typical / pricing.ANCHOR_RATIO, typical)[1] == "product"
    assert pricing.price_anchor_of(typical * 1.01, typical) == (typical, "category")


def test_an_unknown_city_id_names_the_field(ca) -> None:
    with pytest.raises(InputError) as err:
        cities_mod.positions(ca, [int(ca.city_id.max()) + 1])
    assert err.value.field == "city_id"


def test_a_country_scope_takes_iso3_codes_as_iso2(ca) -> None:
    np.testing.assert_array_equal(
        cities_mod.scope_mask(ca, ["BRA", "de"]), cities_mod.scope_mask(ca, ["BR", "DE"])
    )
    assert cities_mod.scope_mask(ca, ["BRA"]).sum() == (ca.iso2 == "BR").sum()


def test_the_city_matchers_name_the_field_they_read(ca) -> None:
    with pytest.raises(InputError) as err:
        cities_mod.match_city("Nowhereville, BR", ca, field="origin_city")
    assert err.value.field == "origin_city"
    with pytest.raises(InputError) as err:
        custom.find_city(ca, "Nowhereville, BR")
    assert err.value.field == "city"


@pytest.mark.parametrize("lat", [-90.5, 90.5, float("nan")])
def test_a_new_city_off_the_globe_is_refused(ca, lat: float) -> None:
    with pytest.raises(InputError, match=r"latitude must be within -90\.\.90"):
        custom.check_new_city(ca, "Polar base", "BR", lat, -47.0)


@pytest.mark.parametrize("text", ["", "none", "No", " - "])
def test_no_season_is_written_in_several_ways(text: str) -> None:
    assert inputs.parse_months(text) == ()


def test_the_product_reading_uses_the_chosen_category() -> None:
    a = inputs.ProductInput(name="Tripod", category="Cameras & Optics", price=40, unit_cost=10)
    b = inputs.ProductInput(name="Tripod", category="Home & Garden", price=40, unit_cost=10)
    assert a.understanding().product_type != b.understanding().product_type


@pytest.mark.parametrize(
    ("word", "one"),
    [
        ("tennis", "tennis"),
        ("quizzes", "quizz"),
        ("jackets", "jacket"),
        ("boxes", "box"),
    ],
)
def test_singulars_keep_words_that_end_in_is(word: str, one: str) -> None:
    assert singular(word) == one


def test_a_plural_in_is_of_a_lexicon_word_in_i_reads_as_that_word() -> None:
    """Found by the mutation sample: "skis" and "bikinis" kept their "s" and missed the lexicon's rows."""
    skis, bikinis = understand("Alpine skis", None, None), understand("Women's bikinis", None, None)
    assert skis.climate == "cold" and "ski" in skis.climate_evidence
    assert bikinis.climate == "warm" and bikinis.product_type.endswith("Swimwear")
    assert i_plurals(["tennis", "skis", "chassis"]) == ["tennis", "ski", "chassis"]


def test_comparing_rankings_matches_cities_whatever_their_values() -> None:
    cols = ["city_id", "city", "country_iso2", "rank", "opportunity_score", "expected_units_month"]
    a = pd.DataFrame([[1, "A", "DE", 1, 90.0, 10.0], [2, "B", "DE", 2, 80.0, 8.0]], columns=cols)
    b = pd.DataFrame([[2, "B", "DE", 1, 85.0, 9.0], [3, "C", "DE", 2, 70.0, 7.0]], columns=cols)
    out = whatif.compare_rankings(a, b)
    assert list(out["city_id"]) == [1, 2, 3]
    assert list(out.columns) == [
        "city_id",
        "city",
        "country_iso2",
        "rank_a",
        "opportunity_a",
        "units_a",
        "rank_b",
        "opportunity_b",
        "units_b",
        "rank_change",
    ]
    row = out.set_index("city_id").loc[2]
    assert (row["rank_a"], row["rank_b"], row["rank_change"]) == (2, 1, 1)


def test_a_stored_table_without_the_market_flag_counts_no_city_above_it() -> None:
    table = pd.DataFrame(
        {
            "loss_making": [False, True],
            "expected_units_month": [3.0, 1.0],
            "expected_units_low": [2.0, 0.5],
            "expected_units_high": [4.0, 1.5],
            "expected_revenue_usd_month": [90.0, 30.0],
            "profit_usd_month": [20.0, -5.0],
        }
    )
    m = whatif.headline_metrics(table)
    assert (m["above_market_cities"], m["profit"], m["loss"], m["loss_cities"]) == (0.0, 20.0, -5.0, 1.0)


def test_compared_inputs_show_numbers_as_people_write_them() -> None:
    a = {"product": {"name": "Tee", "price": 30.0, "weights": {"demand": 0.1 + 0.2, "profitability": 0.7}}}
    b = {"product": {"name": "Tee", "price": 29.5, "weights": {"demand": 0.5, "profitability": 0.5}}}
    rows = {r["input"]: (r["A"], r["B"]) for r in whatif.input_differences(a, b)}
    assert rows["Score weights"] == ("demand 0.3, profitability 0.7", "demand 0.5, profitability 0.5")
    assert rows["Price (US$)"] == ("30", "29.5")
    a["product"]["target_ages"], b["product"]["target_ages"] = ["25-34"], ["25-34", "35-44"]
    rows = {r["input"]: (r["A"], r["B"]) for r in whatif.input_differences(a, b)}
    assert rows["Target ages"] == ("25-34", "25-34, 35-44")


def test_a_city_profile_dates_the_age_mix_and_flags_country_figures(ca) -> None:
    """City Explorer's profile: the age mix is the UN projection's year; a country-level figure without a
    flag of its own is "imputed" where the country's figure was imputed, else "inherited" from the country."""
    from core.forecast.features import AGE_YEAR, city_profile

    city = ca.frame.iloc[0]
    country = pd.Series(
        {
            "broadband_per100_year": 2023.0,
            "broadband_per100_flag": "imputed",
            "price_level_ratio_flag": "measured",
        }
    )
    profile = city_profile(city, country).set_index("feature")
    ages = profile[profile.index.str.startswith("Age ")]
    assert len(ages) >= 5 and set(ages["year"]) == {AGE_YEAR}
    flags = profile["flag"].to_dict()
    broadband = next(k for k in flags if "roadband" in k)
    price = next(k for k in flags if "rice level" in k)
    assert (flags[broadband], flags[price]) == ("imputed", "inherited")
    assert profile.loc[broadband, "year"] == 2023


# --- rules a mutation sample (make mutate-sample SEED=3) showed no test held -----------------------------


def test_age_bands_allow_spaces_and_a_wrong_band_names_its_field() -> None:
    from core.forecast.categories import parse_age_bands

    assert parse_age_bands(" 25 - 34 , 35-44") == parse_age_bands("25-34,35-44") == ("25_34", "35_44")
    with pytest.raises(InputError) as err:
        parse_age_bands("25-34, 30-40")
    assert err.value.field == "target_ages" and "unknown age band '30-40'" in str(err.value)


def test_months_outside_the_year_name_the_season_field() -> None:
    with pytest.raises(InputError, match="months are 1 to 12") as err:
        inputs.parse_months("11-13")
    assert err.value.field == "season_months"


def test_an_unknown_ships_from_country_is_named_as_the_ships_from_city(ca) -> None:
    with pytest.raises(InputError, match="in the ships-from city; use ISO codes") as err:
        cities_mod.resolve_origin("Lyon, XX", ca)
    assert err.value.field == "ships_from"


def test_an_added_city_must_be_written_city_comma_country(ca) -> None:
    with pytest.raises(InputError) as err:
        custom.find_city(ca, "Campinas")
    assert (
        str(err.value) == "write the city as 'City, CC' (e.g. 'Campinas, BR')" and err.value.field == "city"
    )


def test_a_ranking_needs_at_least_one_city(ca) -> None:
    from core.forecast import rank

    ev = evaluate(prepare(ca, validate_product(name="Mug", category="Home & Garden", price=12, unit_cost=4)))
    with pytest.raises(InputError, match="top must be at least 1") as err:
        rank(ev, top=0)
    assert err.value.field == "top"


def test_the_reading_summary_names_the_calendar_season_and_its_words() -> None:
    u = understand("Christmas tree lights", category="Home & Garden")
    assert u.season_months  # the lexicon's calendar season for Christmas
    months = ", ".join(map(str, u.season_months))
    assert f"calendar season {months} (from {', '.join(u.season_evidence)})" in u.summary()


def test_the_price_curve_sums_each_price_over_the_cities(ca) -> None:
    p = validate_product(name="Mug", category="Home & Garden", price=12, unit_cost=4)
    ev = evaluate(prepare(ca, p))
    idx = np.argsort(-ev.columns["expected_units_month"])[:25]
    prices = np.array([8.0, 12.0, 20.0])
    curve = whatif.price_curve(ev, idx, prices)
    for price, row in zip(prices, curve.itertuples(), strict=True):
        single = whatif.price_curve(ev, idx, np.array([price]))
        assert row.revenue == pytest.approx(float(single["revenue"].iloc[0]))
        assert row.revenue == pytest.approx(row.units * price, rel=1e-9)
    assert curve["revenue"].nunique() == 3


# --- session 14: survivors of the mutation sample's seed 4 --------------------------------------------------
def test_a_figure_out_of_range_is_named_in_lower_case_with_its_bounds() -> None:
    fig = custom.FIGURES["online_buyers_pct"]
    with pytest.raises(InputError) as err:
        custom.check_figures({"online_buyers_pct": 150.0}, {"online_buyers_pct": "survey"})
    assert str(err.value).startswith(f"{fig.label.lower()} must be between ")


@pytest.mark.parametrize("lon", [180.5, -180.5])
def test_a_new_citys_longitude_stays_within_180_degrees(ca, lon: float) -> None:
    with pytest.raises(InputError, match=r"longitude within -180\.\.180"):
        custom.check_new_city(ca, "Edge", "FJ", -17.0, lon)


def test_area_totals_name_the_best_and_mean_opportunity() -> None:
    table = pd.DataFrame(
        {
            "country_iso2": ["DE", "DE", "BR"],
            "loss_making": [False, True, False],
            "profit_usd_month": [10.0, -4.0, 7.0],
            "expected_units_month": [3.0, 1.0, 2.0],
            "expected_revenue_usd_month": [30.0, 10.0, 20.0],
            "opportunity_score": [70.0, 40.0, 60.0],
        }
    )
    totals = whatif.area_totals(table, ["country_iso2"]).set_index("country_iso2")
    assert (
        totals.loc["DE", "best_opportunity_score"] == 70.0
        and totals.loc["DE", "mean_opportunity_score"] == 55.0
    )
    assert (totals.loc["DE", "profit_usd_month"], totals.loc["DE", "loss_usd_month"]) == (10.0, -4.0)


def test_the_market_keeps_the_population_floor_when_countries_are_chosen(ca) -> None:
    ev = evaluate(prepare(ca, validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4)))
    got = whatif.market_cities(ev, 0, countries=["DE"], min_population=500_000)
    pop = dict(zip(ca.city_id.tolist(), ca.population.tolist(), strict=True))
    assert len(got) > 0 and set(got["country_iso2"]) == {"DE"}
    assert min(pop[c] for c in got["city_id"]) >= 500_000


def test_the_analysts_sentence_names_a_gender_only_when_one_was_read() -> None:
    assert "for women" in understand("Women's wool coat").summary()
    assert " for " not in understand("Ceramic mug").summary().split("; ", 1)[1]
