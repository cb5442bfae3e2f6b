"""Calibration on a user's sales: reading, matching, the estimator, accuracy vs baseline, twins, CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold

from core import calibration as cal
from core.errors import InputError
from core.forecast import evaluate, prepare, rank, validate_product
from tests.helpers import login, submit_forecast_form

PRODUCT = validate_product(name="Tee", category="166", price=30, unit_cost=8)


@pytest.fixture(scope="module")
def ev(ca):
    return evaluate(prepare(ca, PRODUCT))


def synthetic(ca, iso2: str, n: int, income_power: float, noise: float, seed: int = 0) -> bytes:
    """Sales generated from a known relationship: population x income ** income_power x noise."""
    f = ca.frame[ca.frame["country_iso2"] == iso2].nlargest(n, "population")
    rng = np.random.default_rng(seed)
    y = (
        f["population"]
        / 1e4
        * (f["gdp_per_capita_ppp"] / 2e4) ** income_power
        * np.exp(rng.normal(0, noise, len(f)))
    )
    lines = ["city,country,region,units"] + [
        f'"{c}",{iso2},"{r}",{v:.2f}' for c, r, v in zip(f["name"], f["admin1"], y, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def run(data: bytes, ev, countries=None):
    rows, measure = cal.read_sales(data)
    return cal.calibrate(rows, measure, ev, countries)


def test_recovers_income_effect_and_beats_baseline(ca, ev) -> None:
    result = run(synthetic(ca, "BR", 80, income_power=2.0, noise=0.3), ev, ["BR"])
    assert result.cv.spearman > result.cv.baseline_spearman + 0.05
    assert result.cv.rmsle < result.cv.baseline_rmsle
    assert result.cv.spearman > 0.75  # noise (sd 0.3 in logs) caps what any model can reach
    # Out of sample: rank the next 80 cities, not in the file, against the same relationship.
    f = ca.frame[ca.frame["country_iso2"] == "BR"].nlargest(160, "population").iloc[80:]
    truth = f["population"] * f["gdp_per_capita_ppp"] ** 2
    pred = result.predictions.set_index("city_id").loc[f["city_id"], "predicted"]
    assert pd.Series(pred.to_numpy()).corr(pd.Series(truth.to_numpy()), method="spearman") > 0.8
    assert not result.predictions.set_index("city_id").loc[f["city_id"], "in_training"].any()


def test_population_only_truth_gives_no_false_gain(ca, ev) -> None:
    result = run(synthetic(ca, "DE", 60, income_power=0.0, noise=0.2), ev, ["DE"])
    assert result.cv.baseline_spearman > 0.85
    assert result.cv.spearman < result.cv.baseline_spearman + 0.1


def test_intervals_and_scope(ca, ev) -> None:
    result = run(synthetic(ca, "BR", 40, 1.0, 0.3), ev)
    p = result.predictions
    assert set(p["country_iso2"]) == {"BR"}  # default scope: the countries in the file
    assert (p["predicted_low"] <= p["predicted"]).all() and (p["predicted"] <= p["predicted_high"]).all()
    assert p["in_training"].sum() == 40


def test_twins_are_unsold_similar_cities(ca, ev) -> None:
    result = run(synthetic(ca, "BR", 40, 1.0, 0.3), ev)
    t = result.twins
    assert len(t) == 15
    assert not set(t["twin_id"]) & set(result.report.matched["city_id"])
    assert t["similarity"].between(0, 100).all()


def test_estimator_contract(ca, ev) -> None:
    model = cal.full_model(alpha=2.0)
    assert model.get_params() == {
        "alpha": 2.0,
        "group_column": cal.GROUP_COLUMN,
        "min_group_size": cal.MIN_REGION_CITIES,
        "coord_columns": cal.COORD_COLUMNS,
        "bandwidths_km": cal.BANDWIDTHS_KM,
        "loss": "log1p",
        "columns": None,
    }
    assert clone(model).set_params(alpha=3.0).alpha == 3.0
    X = cal.feature_frame(ev).iloc[:50].to_numpy(float)
    with pytest.raises(NotFittedError):
        model.predict(X)
    y = np.arange(1, 51, dtype=float)
    assert model.fit(X, y) is model
    assert hasattr(model, "pipeline_") and model.n_features_in_ == len(cal.FEATURES) + 3  # + region, lat, lon
    assert model.predict(X).shape == (50,)
    np.testing.assert_allclose(
        model.predict(X), cal.full_model(alpha=2.0).fit(X, y).predict(X)
    )  # deterministic


@pytest.mark.parametrize(
    "estimator",
    [
        cal.SalesModel(),
        cal.SalesModel(group_column=0),
        cal.SalesModel(coord_columns=(0, 1)),
        cal.SalesModel(group_column=0, loss="poisson"),
    ],
)
def test_sklearn_check_estimator(estimator) -> None:
    """scikit-learn's own contract checks, all of them (poor_score is declared: the model fits log(1 + sales))."""
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(estimator)


def test_region_effects_are_learned_and_small_regions_pooled() -> None:
    """Sales twice as high in region 1 than in region 0 with the same features: the model with a group
    column learns the gap, the one without cannot; a region with fewer than min_group_size rows gets no
    effect of its own."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    group = np.where(np.arange(n) < 150, 0.0, 1.0)
    group[:2] = 2.0  # a region with two cities only
    y = np.expm1(2 + 0.5 * x + np.log(2) * (group == 1) + rng.normal(0, 0.05, n))
    X = np.column_stack([x, group])
    with_regions = cal.SalesModel(alpha=0.01, group_column=1).fit(X, y)
    without = cal.SalesModel(alpha=0.01).fit(X[:, :1], y)
    probe = np.array([[0.0, 0.0], [0.0, 1.0]])
    lo, hi = with_regions.predict_log(probe)
    assert hi - lo == pytest.approx(np.log(2), abs=0.05)
    assert np.ptp(without.predict_log(probe[:, :1])) == 0
    encoder = with_regions.pipeline_.named_steps["features"].named_transformers_["group"]
    assert encoder.infrequent_categories_[0].tolist() == [2.0]


def _clustered_sales(seed: int, n: int = 600, cluster_effect: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Cities on a 10 x 10 degree patch; sales follow one feature plus, for cities within 150 km of a few
    hot spots, a log effect no feature or region explains (a marketplace's local footprint)."""
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(40, 50, n), rng.uniform(0, 10, n)
    x = rng.normal(size=n)
    spots = rng.uniform([41, 1], [49, 9], size=(4, 2))
    km = 111.0 * np.hypot(lat[:, None] - spots[:, 0], (lon[:, None] - spots[:, 1]) * np.cos(np.radians(45)))
    local = cluster_effect * np.exp(-0.5 * (km / 100.0) ** 2).sum(axis=1)
    y = np.expm1(2 + 0.5 * x + local + rng.normal(0, 0.2, n))
    return np.column_stack([x, lat, lon]), y


def test_neighbour_smoothing_learns_local_clusters() -> None:
    """Sales raised around hot spots that no feature explains: with coordinates the model borrows the
    residuals of nearby training cities and ranks held-out cities better; without a spatial pattern it
    chooses no smoothing and predicts as the plain model does."""
    X, y = _clustered_sales(0)
    train, test = np.arange(300), np.arange(300, 600)
    plain = cal.SalesModel(alpha=0.01).fit(X[train][:, :1], y[train])
    spatial = cal.SalesModel(alpha=0.01, coord_columns=(1, 2)).fit(X[train], y[train])
    assert spatial.bandwidth_km_ in cal.BANDWIDTHS_KM
    rho_plain = cal.rank_correlation(plain.predict_log(X[test][:, :1]), np.log1p(y[test]))
    rho_spatial = cal.rank_correlation(spatial.predict_log(X[test]), np.log1p(y[test]))
    assert rho_spatial > rho_plain + 0.05

    X0, y0 = _clustered_sales(1, cluster_effect=0.0)  # no spatial pattern at all
    flat = cal.SalesModel(alpha=0.01, coord_columns=(1, 2)).fit(X0[train], y0[train])
    assert flat.bandwidth_km_ == 0.0
    np.testing.assert_allclose(
        flat.predict_log(X0[test]),
        cal.SalesModel(alpha=0.01).fit(X0[train][:, :1], y0[train]).predict_log(X0[test][:, :1]),
    )


def test_smoothing_leaves_a_city_out_when_choosing_the_width() -> None:
    """Pure noise residuals: counting each city's own residual would always favour the narrowest kernel
    (it reproduces the noise); left out, no width beats predicting 0."""
    rng = np.random.default_rng(5)
    n = 400
    X = np.column_stack([rng.normal(size=n), rng.uniform(40, 41, n), rng.uniform(0, 1, n)])
    y = np.expm1(2 + 0.3 * X[:, 0] + rng.normal(0, 1.0, n))
    assert cal.SalesModel(coord_columns=(1, 2)).fit(X, y).bandwidth_km_ == 0.0


def test_calibration_reports_the_smoothing_its_model_chose(ca, ev) -> None:
    """The width in the metrics is the one the model fitted on the file's cities chose; the page sentence
    names it, or says there is none."""
    data = synthetic(ca, "DE", 60, 1.0, 0.3)
    result = run(data, ev, ["DE"])
    rows, measure = cal.read_sales(data)
    _report, y_by_city = cal.matched_sales(rows, measure, ca)
    X = cal.feature_frame(ev).loc[y_by_city.index].to_numpy(float)
    assert (
        result.smoothing_km == cal.full_model(loss=result.cv.loss).fit(X, y_by_city.to_numpy()).bandwidth_km_
    )
    assert result.metrics()["smoothing_km"] == result.smoothing_km
    assert "100 km" in cal.smoothing_sentence(100.0) and "no local pattern" in cal.smoothing_sentence(0.0)


def test_cross_validation_reports_the_uncalibrated_forecast_on_the_same_folds(ca, ev) -> None:
    """The prior's figures are its own rank correlation with the sales, overall and fold by fold (no fit),
    so the page can say whether calibration adds anything to the forecast."""
    data = synthetic(ca, "BR", 80, income_power=2.0, noise=0.3)
    rows, measure = cal.read_sales(data)
    _report, y_by_city = cal.matched_sales(rows, measure, ca)
    X = cal.feature_frame(ev).loc[y_by_city.index].to_numpy(float)
    y = y_by_city.to_numpy()
    cv = cal.cross_validate(X, y)
    assert cv.prior_spearman == pytest.approx(cal.rank_correlation(X[:, cal.PRIOR_COLUMN], np.log1p(y)))
    folds = KFold(n_splits=5, shuffle=True, random_state=0).split(X)
    assert cv.fold_prior_spearman == pytest.approx(
        [cal.rank_correlation(X[te, cal.PRIOR_COLUMN], np.log1p(y[te])) for _tr, te in folds]
    )
    assert cv.folds_better_than_prior == sum(
        a > b for a, b in zip(cv.fold_spearman, cv.fold_prior_spearman, strict=True)
    )
    # Sales follow income squared, which the prior (income elasticity about 1) under-weights: calibration adds,
    # in every fold (the claim's rule).
    assert cv.folds_better_than_prior == len(cv.fold_prior_spearman)
    adds, text = cal.prior_sentence(
        cal.Calibration("units", _report, cv, pd.DataFrame({"in_training": [True]}), pd.DataFrame()).metrics()
    )
    assert adds and f"{cv.prior_spearman:.2f}" in text


def test_sparse_sales_drawn_from_the_forecast_do_not_beat_it(ca, ev) -> None:
    """A few orders per city, drawn from the forecast itself: nothing is left to learn, and the page says
    to prefer the forecast's own ranking."""
    idx = np.flatnonzero(ca.iso2 == "BR")[:300]
    lam = ev.columns["expected_units_month"][idx]
    lam = 1.5 * lam / lam.mean()
    orders = np.random.default_rng(4).poisson(lam)
    X = cal.feature_frame(ev).to_numpy(float)[idx]
    cv = cal.cross_validate(X, orders.astype(float))
    assert cv.folds_better_than_prior < len(cv.fold_prior_spearman)
    metrics = {
        "prior_cv_spearman": cv.prior_spearman,
        "fold_prior_spearman": cv.fold_prior_spearman,
        "folds_better_than_prior": cv.folds_better_than_prior,
    }
    adds, text = cal.prior_sentence(metrics)
    assert not adds and "prefer the forecast's own ranking" in text


def _sparse_counts(seed: int, n: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """Orders per city as counts: a Poisson draw around exp(features), most cities with 0, 1 or 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    mu = np.exp(-0.5 + 0.9 * X[:, 0] + 0.4 * X[:, 1])
    return X, rng.poisson(mu).astype(float)


def test_poisson_loss_fits_sparse_counts() -> None:
    """Many cities with no or one order: the Poisson GLM recovers the log-linear rate (its coefficients),
    where least squares on log(1 + y) flattens it, and ranks held-out cities better."""
    X, y = _sparse_counts(0)
    assert np.mean(y == 0) > 0.4
    model = cal.SalesModel(alpha=1e-3, loss="poisson").fit(X[:600], y[:600])
    coef = (
        model.pipeline_.named_steps["model"].coef_
        / model.pipeline_.named_steps["features"].named_transformers_["num"].scale_
    )
    assert coef[:2] == pytest.approx([0.9, 0.4], abs=0.15)
    log1p = cal.SalesModel(alpha=1e-3).fit(X[:600], y[:600])
    truth = np.exp(0.9 * X[600:, 0] + 0.4 * X[600:, 1])  # the rate itself: what a ranking should follow
    assert cal.rank_correlation(model.predict(X[600:]), truth) > cal.rank_correlation(
        log1p.predict(X[600:]), truth
    )
    rate = model.pipeline_.predict(X[600:])  # the GLM's own expected counts
    assert model.predict(X[600:]) == pytest.approx(rate) and model.predict_log(X[600:]) == pytest.approx(
        np.log1p(rate)
    )
    with pytest.raises(ValueError, match=r"X has 3 feature\(s\)"):
        cal.SalesModel(coord_columns=(2, 3)).fit(X, y)


def test_select_model_keeps_the_better_cross_validated_candidate(ca, ev) -> None:
    """calibrate() uses the candidate (model, loss) whose mean fold Spearman is higher on the same folds, for
    the model and its population-only baseline alike; the plain region GLM is one of the candidates."""
    idx = np.flatnonzero(ca.iso2 == "BR")[:300]
    lam = ev.columns["expected_units_month"][idx]
    orders = np.random.default_rng(6).poisson(2.0 * lam / lam.mean()).astype(float)
    X = cal.feature_frame(ev).to_numpy(float)[idx]
    chosen = cal.select_model(X, orders)
    reports = {c: cal.cross_validate(X, orders, loss=c[1], model=c[0]) for c in cal.CANDIDATES}
    best = max(cal.CANDIDATES, key=lambda c: np.mean(reports[c].fold_spearman))
    assert (chosen.model, chosen.loss) == best and chosen.fold_spearman == reports[best].fold_spearman
    assert chosen.fold_baseline_spearman == reports[best].fold_baseline_spearman
    only_full = cal.select_model(X, orders, region_glm=False)
    assert only_full.model == "full"
    assert "Poisson" in cal.model_sentence("poisson") and "least squares" in cal.model_sentence("poisson")
    assert "region effects" in cal.model_sentence("poisson", "population_region")
    with pytest.raises(ValueError, match="loss must be one of"):
        cal.SalesModel(loss="gamma").fit(X, orders)


def test_region_glm_uses_only_population_and_region(ca, ev) -> None:
    """The plain region GLM's predictions do not move when any other feature (the prior included) does."""
    idx = np.flatnonzero(ca.iso2 == "BR")[:300]
    X = cal.feature_frame(ev).to_numpy(float)[idx]
    y = np.random.default_rng(2).poisson(3.0, size=len(idx)).astype(float)
    model = cal.population_region_model().fit(X, y)
    shuffled = X.copy()
    others = [j for j in range(X.shape[1]) if j not in (cal.POPULATION_COLUMN, cal.GROUP_COLUMN)]
    shuffled[:, others] = np.random.default_rng(3).permutation(shuffled[:, others])
    assert model.predict(shuffled) == pytest.approx(model.predict(X))
    shuffled[:, cal.POPULATION_COLUMN] = shuffled[::-1, cal.POPULATION_COLUMN]
    assert model.predict(shuffled) != pytest.approx(model.predict(X))


def test_claim_needs_every_fold(ca, ev) -> None:
    report = cal.CVReport(
        0.8, 0.6, 0.5, 0.7, (-1, 1), 5, [0.8, 0.7, 0.9, 0.65, 0.8], [0.6, 0.6, 0.6, 0.6, 0.6], n_cities=100
    )
    assert report.beats_population
    report.fold_spearman[3] = 0.55  # one fold where population wins
    report.fold_baseline_spearman[3] = 0.6
    assert not report.beats_population and report.folds_better == 4
    few = cal.CVReport(0.9, 0.1, 0.5, 0.7, (-1, 1), 5, [0.9] * 5, [0.1] * 5, n_cities=8)
    assert not few.beats_population  # 8 cities: no claim whatever the folds say
    ok, text = cal.accuracy_claim({"n_train": 8, "fold_spearman": [0.9] * 5, "folds_better": 5})
    assert not ok and "too few" in text


# --- matching -----------------------------------------------------------------------------
def match(ca, csv_text: str):
    rows, measure = cal.read_sales(csv_text.encode())
    return cal.match_cities(rows, measure, ca)


def city_of(ca, report, row: int) -> str:
    cid = int(report.matched.set_index("row").loc[row, "city_id"])
    return str(ca.frame.set_index("city_id").loc[cid, "name"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("sao paulo,BR,,5", "São Paulo"),
        ("SÃO PAULO,Brazil,,5", "São Paulo"),
        ("lodz,POL,,5", "Łódź"),
        ("New York,US,,5", "New York City"),
        ("Springfield,US,Illinois,5", "Springfield"),
        ("Springfield,US,US-IL,5", "Springfield"),
        ("Springfield,US,MA,5", "Springfield"),
        ("Paris,France,,5", "Paris"),
        ("Koln,DE,,5", "Köln"),
        ("Cologne,DE,,5", "Köln"),
        ("Bombay,IN,,5", "Mumbai"),
        ("Peking,CN,,5", "Beijing"),  # alternate names
        ("Campinas,BR,BR-SP,5", "Campinas"),
        ("Santa Maria,BR,BR-RS,5", "Santa Maria"),
        ("Istanbul,TR,TR-34,5", "Istanbul"),
        # bare ISO 3166-2 suffixes, lower case as Olist writes them; federal districts; country names in other languages
        ("campinas,BR,sp,5", "Campinas"),
        ("niteroi,Brasil,RJ,5", "Niterói"),
        ("salvador,BR,ba,5", "Salvador"),
        ("brasilia,BR,df,5", "Brasília"),
        ("Brasilia,BR,Distrito Federal,5", "Brasília"),
        ("Brasília,BR,BR-DF,5", "Brasília"),
        ("Istanbul,Turkiye,34,5", "Istanbul"),
        ("Istanbul,Turkey,,5", "Istanbul"),
        ("Köln,Deutschland,,5", "Köln"),
        ("Munich,Germany,BY,5", "Munich"),
        ("Atlantis,United States of America,,5", None),
    ],
)
def test_matching(ca, line: str, expected: str | None) -> None:
    report = match(ca, "city,country,region,units\n" + line + "\n")
    if expected is None:
        assert report.matched_rows == 0 and len(report.unmatched) == 1
        return
    assert report.unmatched == [], report.unmatched
    assert city_of(ca, report, 2) == expected


@pytest.mark.parametrize(
    ("line", "expected", "method"),
    [
        ("Sao Paulo,BR,,5", "São Paulo", "exact"),
        ("Cologne,DE,,5", "Köln", "alternate name"),
        ("Brooklyn,US,,5", "New York City", "district folded"),
        ("Esenyurt,TR,,5", "Istanbul", "district folded"),
        ("Taguatinga,BR,DF,5", "Brasília", "district folded"),
        ("Ft Lauderdale,US,FL,5", "Fort Lauderdale", "loose"),
    ],
)
def test_match_methods(ca, line: str, expected: str, method: str) -> None:
    report = match(ca, "city,country,region,units\n" + line + "\n")
    assert report.unmatched == [], report.unmatched
    assert city_of(ca, report, 2) == expected
    assert report.matched["method"].tolist() == [method]
    assert (method in ("loose", "district folded")) == bool(report.to_confirm())


@pytest.mark.parametrize("line", ["Cruz,BR,,5", "Jose,US,,5", "Paulo,BR,,5"])
def test_loose_matching_never_drops_a_name_word(ca, line: str) -> None:
    """A bare "Cruz" must not become Santa Cruz, nor "Jose" San Jose."""
    report = match(ca, "city,country,region,units\n" + line + "\n")
    assert report.matched_rows == 0 and "no city" in report.unmatched[0]["reason"]


def test_districts_add_up_in_their_city(ca) -> None:
    rows, measure = cal.read_sales(b"city,country,units\nNew York,US,10\nBrooklyn,US,5\nQueens,US,2\n")
    agg = cal.aggregate(cal.match_cities(rows, measure, ca).matched)
    assert agg.tolist() == [17.0]


def test_too_few_matches_carry_the_unmatched_rows(ca, ev) -> None:
    rows, measure = cal.read_sales(b"city,country,units\nAtlantis,BR,3\nBerlin,DE,2\n")
    with pytest.raises(cal.MatchError) as err:
        cal.calibrate(rows, measure, ev)
    assert "row 2: no city 'Atlantis'" in str(err.value)
    assert err.value.report.unmatched[0]["row"] == 2


def test_same_name_in_two_regions(ca) -> None:
    report = match(
        ca,
        "city,country,region,units\nSpringfield,US,Illinois,5\nSpringfield,US,Missouri,7\nSpringfield,US,,1\n",
    )
    ids = report.matched["city_id"].tolist()
    assert len(ids) == 2 and ids[0] != ids[1]
    assert report.unmatched[0]["row"] == 4 and "ambiguous" in report.unmatched[0]["reason"]


def test_unmatched_rows_are_reported_with_reasons(ca) -> None:
    report = match(ca, "city,country,units\nAtlantis,BR,3\nBerlin,Narnia,2\nBerlin,DE,9\n")
    reasons = {u["row"]: u["reason"] for u in report.unmatched}
    assert "no city 'Atlantis'" in reasons[2] and "unknown country" in reasons[3]
    assert report.matched_rows == 1


# --- bad files ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"city,country,units\n", "no sales rows"),
        ("city,country,units\nSão Paulo,BR,5\n".encode("latin-1"), "UTF-8"),
        (b"city,units\nBerlin,5\n", "lacks the column(s) country"),
        (b"city,country\nBerlin,DE\n", "exactly one of"),
        (b"city,country,units,revenue\nBerlin,DE,1,2\n", "exactly one of"),
        (b"city,country,units\nBerlin,DE,-3\n", "negative on row(s) 2"),
        (b"city,country,units\nBerlin,DE,lots\n", "not a finite number on row(s) 2"),
        (b"city,country,units\nBerlin,DE,inf\n", "not a finite number on row(s) 2"),
        (b"city,country,units\nBerlin,DE,1e309\n", "not a finite number on row(s) 2"),
        (b"city,country,units\nParis,FR,1,2,3\n", "row 2 has 5 fields but the header has 3"),
        ("city,country,units\nBerlin,DE,3\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        (b"city," + b",".join(b"c%d" % i for i in range(300_000)) + b"\n", "columns"),
        (b"city,country,units\n" + b"Berlin,DE,1\n" * (cal.MAX_ROWS + 5), "the limit is 200,000"),
        (b"city,country,units\nBerlin,DE,3\nBerlin,DE,4\n", "rows 2, 3 repeat"),
        (b"city|country|units\n", "no sales rows"),
        (b"x" * (cal.MAX_BYTES + 1), "limit is 20 MB"),
    ],
)
def test_bad_files(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cal.read_sales(data)


def test_semicolon_files_with_decimal_commas() -> None:
    rows, _ = cal.read_sales("city;country;revenue\nBerlin;DE;10,5\nHamburg;DE;1.234,5\nKöln;DE;7\n".encode())
    assert rows["revenue"].tolist() == [10.5, 1234.5, 7.0]


def test_utf16_with_bom_is_fine() -> None:
    rows, _ = cal.read_sales("city,country,units\nBerlin,DE,3\n".encode("utf-16"))
    assert rows["units"].tolist() == [3.0]


def test_semicolons_and_utf8_bom_are_fine() -> None:
    rows, measure = cal.read_sales(
        "\ufeffcity;country;orders;period\nBerlin;DE;5;2026-01\nBerlin;DE;7;2026-02\n".encode()
    )
    assert measure == "orders" and len(rows) == 2


def test_periods_average(ca) -> None:
    rows, measure = cal.read_sales(
        b"city,country,units,period\nBerlin,DE,10,2026-01\nBerlin,DE,20,2026-02\nHamburg,DE,6,2026-01\n"
    )
    agg = cal.aggregate(cal.match_cities(rows, measure, ca).matched)
    assert sorted(agg.tolist()) == [3.0, 15.0]


# --- CLI and app --------------------------------------------------------------------------
def test_cli(sqlite_db, ca, tmp_path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_bytes(synthetic(ca, "BR", 40, 2.0, 0.3) + b"Atlantis,BR,,4\n")
    out, rep = tmp_path / "pred.csv", tmp_path / "report.json"
    env = dict(os.environ, DATABASE_URL=sqlite_db.url)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "calibrate",
            "--sales",
            str(sales),
            "--category",
            "166",
            "--price",
            "30",
            "--unit-cost",
            "8",
            "--countries",
            "BR",
            "--out",
            str(out),
            "--report",
            str(rep),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == [
        "city_id",
        "city",
        "region",
        "country_iso2",
        "population",
        "predicted",
        "predicted_low",
        "predicted_high",
        "in_training",
    ]
    assert set(pred["country_iso2"]) == {"BR"} and pred["in_training"].sum() == 40
    report = json.loads(rep.read_text())
    assert {
        "matched_rows",
        "unmatched_rows",
        "n_train",
        "cv_spearman",
        "baseline_cv_spearman",
        "measure",
    } <= set(report)
    assert report["matched_rows"] == 40 and report["unmatched_rows"][0]["row"] == 42
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"city,country,units\nBerlin,DE,-1\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "core",
            "calibrate",
            "--sales",
            str(bad),
            "--category",
            "166",
            "--price",
            "30",
            "--unit-cost",
            "8",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 2 and "negative" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_saved_calibration_in_the_app(sqlite_db, ca, ev) -> None:
    from core import accounts
    from core.db import repo

    user = accounts.get_user(sqlite_db, email="pro@demo.local")
    result = run(synthetic(ca, "DE", 40, 1.0, 0.3), ev, ["DE"])
    repo.save_calibration(
        sqlite_db,
        user.id,
        "German shop",
        result.measure,
        {},
        result.metrics(),
        result.report_dict(),
        result.predictions,
    )
    at = login("pro@demo.local")
    at.switch_page("views/calibrate.py").run()
    assert not at.exception
    assert any(m.label == "Rank correlation (Spearman)" for m in at.metric)
    assert cal.smoothing_sentence(result.smoothing_km) in [c.value for c in at.caption]
    assert cal.model_sentence(result.cv.loss) in [c.value for c in at.caption]
    adds, sentence = cal.prior_sentence(result.metrics())
    assert sentence in [c.value for c in (at.caption if adds else at.warning)]
    at.switch_page("views/new_forecast.py").run()
    submit_forecast_form(at, "Tee", "Apparel & Accessories", 30.0, 8.0, ["DE"])
    at.session_state["rs_view"] = "Ranking"
    at.switch_page("views/results.py").run()
    assert at.title[0].value == "Results", [t.value for t in at.title] + [e.value for e in at.error]
    at.toggle(key="rs_calibrated").set_value(True).run()
    assert (sentence in [w.value for w in at.warning]) == (
        not adds
    )  # Results warns when calibration adds nothing
    table = at.dataframe[0].value
    assert "calibrated_units_month" in table.columns and "prior_rank" in table.columns
    top = table.iloc[0]["city_id"]
    assert top == result.predictions.set_index("city_id").loc[table["city_id"], "predicted"].idxmax()
    # the same scale and period as the ranking: the covered cities add up to the forecast's units a month
    assert table["calibrated_units_month"].sum() == pytest.approx(
        table["expected_units_month"].sum(), rel=1e-6
    )


def test_calibrate_defaults_to_the_open_forecasts_product(sqlite_db) -> None:
    """The prior is made for a product: Calibrate starts from the open forecast's category, price and cost
    (the first category and $30 / $10 when no forecast is open)."""
    from core.forecast.categories import all_categories

    at = login("pro@demo.local")
    at.switch_page("views/calibrate.py").run()
    assert at.selectbox(key="cal_category").value == all_categories()[0].name
    assert at.number_input(key="cal_price").value == 30.0 and at.number_input(key="cal_cost").value == 10.0
    at = login("pro@demo.local")
    at.switch_page("views/new_forecast.py").run()
    submit_forecast_form(at, "Towels", "Home & Garden", 25.0, 0.0, ["DE"])
    at.switch_page("views/calibrate.py").run()
    assert not at.exception
    assert at.selectbox(key="cal_category").value == "Home & Garden"
    assert at.number_input(key="cal_price").value == 25.0 and at.number_input(key="cal_cost").value == 0.0


def test_upload_in_the_app(sqlite_db, ca) -> None:
    at = login("master@demo.local")
    at.switch_page("views/calibrate.py").run()
    at.file_uploader(key="cal_file").set_value(("bad.csv", b"city,country,units\nBerlin,DE,-4\n", "text/csv"))
    at.button[0].click().run()
    assert any("negative on row(s) 2" in e.value for e in at.error)
    at.file_uploader(key="cal_file").set_value(("sales.csv", synthetic(ca, "BR", 60, 2.0, 0.3), "text/csv"))
    at.text_input(key="cal_name").input("Brazil shop")
    at.button[0].click().run()
    assert not at.exception
    assert any("Calibration saved" in s.value for s in at.success)
    assert any(m.label == "Rank correlation (Spearman)" for m in at.metric)
    assert any("better than population alone" in s.value for s in at.success)
    assert len(at.get("deck_gl_json_chart")) == 1


def test_a_new_calibration_is_the_one_shown(sqlite_db, ca) -> None:
    at = login("master@demo.local")
    at.switch_page("views/calibrate.py").run()
    for name, iso in (("First shop", "BR"), ("Second shop", "DE")):
        at.file_uploader(key="cal_file").set_value(
            ("sales.csv", synthetic(ca, iso, 40, 1.0, 0.3), "text/csv")
        )
        at.text_input(key="cal_name").set_value(name)
        at.button[0].click().run()
        assert not at.exception
        assert name in at.selectbox(key="cal_pick").format_func(at.selectbox(key="cal_pick").value)


def test_neighbour_distances_are_great_circle_km() -> None:
    """The smoothing's k-d tree on the unit sphere gives the same distances as the haversine formula."""
    from core.places.geo import chord_to_km, haversine_km, unit_vectors

    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-80, 80, 200), rng.uniform(-180, 180, 200)
    u = unit_vectors(lat, lon)
    chord = np.linalg.norm(u - u[0], axis=1)
    np.testing.assert_allclose(chord_to_km(chord), haversine_km(lat[0], lon[0], lat, lon), atol=1e-6)


def test_smoothed_prediction_is_the_kernel_weighted_mean_of_residuals() -> None:
    """Coordinates only (the base is the mean of log sales): a prediction is that mean plus
    sum(w r) / (sum(w) + 1) over the training cities, w = exp(-d^2 / 2h^2), h the chosen width."""
    from core.places.geo import haversine_km

    lat = np.array([50.0, 50.1, 50.2, 52.0, 52.1, 52.2])
    lon = np.array([10.0, 10.1, 10.0, 14.0, 14.1, 14.0])
    y = np.array([100.0, 120.0, 110.0, 5.0, 6.0, 4.0])  # two clusters: the neighbours predict each other
    model = cal.SalesModel(coord_columns=(0, 1), bandwidths_km=(60.0,)).fit(np.column_stack([lat, lon]), y)
    assert model.bandwidth_km_ == 60.0
    r = np.log1p(y) - np.log1p(y).mean()
    q_lat, q_lon = 50.5, 10.5
    w = np.exp(-0.5 * (haversine_km(q_lat, q_lon, lat, lon) / 60.0) ** 2)
    expected = np.log1p(y).mean() + (w * r).sum() / (w.sum() + cal.SMOOTHING_PRIOR_WEIGHT)
    assert model.predict_log(np.array([[q_lat, q_lon]]))[0] == pytest.approx(expected, rel=1e-9)


def test_poisson_with_no_sales_predicts_none() -> None:
    """A fold of cities that all sold nothing: the Poisson model has no rate to fit and predicts 0 (the
    mean) without running the solver; negative targets count as zero sales."""
    import warnings

    X = np.random.default_rng(0).normal(size=(20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no solver struggling towards a rate of zero
        model = cal.SalesModel(loss="poisson").fit(X, np.r_[np.zeros(19), -3.0])
    np.testing.assert_allclose(model.predict(X), 0.0)


def test_a_calibration_reorders_only_inside_its_countries(ca) -> None:
    """Issue 25.3: a calibration on German sales re-orders German cities among the places German cities held;
    French cities keep their places and get no calibrated value; the calibrated units add up to the
    prior's units over the German cities of the table."""
    from core.calibration import apply_calibration, calibration_scope

    p = validate_product(name="Tee", category="166", price=30, unit_cost=8)
    table = rank(evaluate(prepare(ca, p)), countries=["DE", "FR"], top=200)
    de = table[table["country_iso2"] == "DE"]
    # a pattern opposite to the prior inside Germany: the smallest German city of the table sells most
    predictions = pd.DataFrame(
        {"city_id": de["city_id"].to_numpy(), "predicted": 1.0 / de["population"].to_numpy()}
    )
    covered = calibration_scope(predictions, ca)
    assert covered == ["DE"]
    out = apply_calibration(table, predictions, covered)
    fr_before = table.index[table["country_iso2"] == "FR"]
    fr_after = out.index[out["country_iso2"] == "FR"]
    assert list(fr_before) == list(fr_after)  # French cities hold their positions
    assert list(out.loc[fr_after, "city_id"]) == list(table.loc[fr_before, "city_id"])
    assert out.loc[fr_after, "calibrated_units_month"].isna().all()
    de_out = out[out["country_iso2"] == "DE"]
    assert de_out["calibrated_units_month"].is_monotonic_decreasing
    assert de_out.iloc[0]["city_id"] == de.loc[de["population"].idxmin(), "city_id"]
    assert de_out["calibrated_units_month"].sum() == pytest.approx(de["expected_units_month"].sum())
    assert sorted(out["prior_rank"]) == list(table["rank"]) and list(out["rank"]) == list(range(1, 201))


def portuguese(data: bytes) -> bytes:
    """The same sales as a Brazilian shop exports them: Portuguese headers, semicolons, no country column."""
    frame = pd.read_csv(io.BytesIO(data))
    out = frame.drop(columns=["country"]).rename(
        columns={"city": "Cidade", "region": "Estado", "units": "Quantidade"}
    )
    return out.to_csv(index=False, sep=";").encode()


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["Cidade", "Estado", "Quantidade"], {"city": "Cidade", "region": "Estado", "units": "Quantidade"}),
        (
            ["geonameid", "name", "city_as_written", "state_uf", "orders"],
            {"city": "city_as_written", "region": "state_uf", "orders": "orders"},
        ),
        (
            ["Stadt", "Land", "Umsatz", "Monat"],
            {"city": "Stadt", "country": "Land", "revenue": "Umsatz", "period": "Monat"},
        ),
        (
            ["ciudad", "pais", "cantidad", "ingresos"],
            {"city": "ciudad", "country": "pais", "units": "cantidad"},
        ),
    ],
)
def test_column_names_are_guessed_in_several_languages(columns, expected) -> None:
    """Issue 25.9: a shop's export is read without renaming it outside the app; one measure at most."""
    assert cal.guess_columns(columns) == expected


def test_a_file_without_country_column_reads_with_the_country_given(ca) -> None:
    data = portuguese(synthetic(ca, "BR", 20, 1.0, 0.3))
    with pytest.raises(InputError, match="All rows are in"):
        cal.read_sales(data, "loja.csv")
    rows, measure = cal.read_sales(data, "loja.csv", country="BR")
    original, _ = cal.read_sales(synthetic(ca, "BR", 20, 1.0, 0.3))
    assert (
        measure == "units" and list(rows["city"]) == list(original["city"]) and set(rows["country"]) == {"BR"}
    )
    assert rows["units"].to_numpy() == pytest.approx(original["units"].to_numpy())


def test_calibrate_page_maps_columns_and_the_files_country(sqlite_db, ca) -> None:
    """Issue 25.9: the Portuguese file is accepted on the page: columns guessed, the country chosen once."""
    at = login("master@demo.local")
    at.switch_page("views/calibrate.py").run()
    at.file_uploader(key="cal_file").set_value(
        ("loja.csv", portuguese(synthetic(ca, "BR", 40, 1.0, 0.3)), "text/csv")
    ).run()
    assert (
        at.selectbox(key="cal_map_city").value == "cidade"
        and at.selectbox(key="cal_map_region").value == "estado"
    )
    assert at.selectbox(key="cal_map_kind").value == "units"
    at.selectbox(key="cal_all_in").set_value("BR")
    at.text_input(key="cal_name").input("Loja")
    next(b for b in at.button if b.label == "Calibrate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Calibration saved" in s.value for s in at.success)


def wait_until_finished(url: str, job_id: str, user_id: str, timeout_s: float = 120) -> None:
    from core import jobs

    deadline = time.monotonic() + timeout_s
    while not jobs.get(url, job_id, user_id).finished:
        assert time.monotonic() < deadline, f"job {job_id} did not finish"
        time.sleep(0.2)


def test_a_large_file_is_calibrated_by_the_job_worker(sqlite_db, ca, monkeypatch, tmp_path) -> None:
    """Issue 26: a file over CALIBRATION_JOB_ROWS rows is calibrated as a background job: the page says it
    waits for the worker, the worker saves the calibration and the page then shows it; a file whose cities
    do not match fails its job and the page says why."""
    from core import jobs
    from core.services.jobs import queue_url
    from core.settings import load_settings
    from tests.helpers import start_worker, stop
    from views import _ui

    monkeypatch.setenv("CALIBRATION_JOB_ROWS", "10")
    _ui.get_settings.clear()
    settings = load_settings()
    try:
        at = login("master@demo.local")
        at.switch_page("views/calibrate.py").run()
        before = len(at.selectbox(key="cal_pick").options) if "cal_pick" in at.session_state else 0
        at.file_uploader(key="cal_file").set_value(
            ("sales.csv", synthetic(ca, "BR", 60, 1.0, 0.3), "text/csv")
        )
        at.text_input(key="cal_name").input("Big shop")
        next(b for b in at.button if b.label == "Calibrate").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert any("waiting for the job worker" in i.value for i in at.info)
        good = at.session_state["_cal_job"]
        unmatched = "city,country,units\n" + "".join(f"Nowhere{i},BR,{i + 1}\n" for i in range(20))
        at.file_uploader(key="cal_file").set_value(("bad.csv", unmatched.encode(), "text/csv"))
        at.text_input(key="cal_name").set_value("Bad shop")
        worker = start_worker(sqlite_db.url, tmp_path / "worker.log")
        try:
            url, uid = queue_url(sqlite_db, settings), at.session_state["user_id"]
            wait_until_finished(url, good, uid)
            at.run()
            assert any("Calibration saved" in s.value for s in at.success), [e.value for e in at.error]
            assert "_cal_job" not in at.session_state
            assert at.session_state["calibration_id"] == jobs.get(url, good, uid).result["calibration_id"]
            assert len(at.selectbox(key="cal_pick").options) == before + 1
            next(b for b in at.button if b.label == "Calibrate").click().run()
            bad = at.session_state["_cal_job"]
            wait_until_finished(url, bad, uid)
        finally:
            stop(worker)
        at.run()
        assert jobs.get(url, bad, uid).status == "failed"
        assert any("matched" in e.value for e in at.error), [e.value for e in at.error]
    finally:
        _ui.get_settings.clear()
