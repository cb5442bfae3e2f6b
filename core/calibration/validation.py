"""Validate the forecast against real orders per city (docs/validation.md).

Measures, never fits: the prior's rank correlation with real orders next to population alone, the
split-half noise ceiling of the orders themselves, and the calibration trained on a random half of the
cities and scored on the other half. Pure: no database, no UI.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.calibration import (
    LOSSES,
    MatchReport,
    SalesModel,
    baseline_columns,
    feature_frame,
    fit_model,
    match_cities,
    population_region_model,
    rank_correlation,
    read_sales,
    single_threaded_blas,
)
from core.errors import InputError
from core.forecast import CityArrays, Evaluation

SPLITS = 10  # random half splits averaged for the calibrated and noise-ceiling figures


@dataclass(frozen=True)
class Truth:
    """Real orders per city (districts added into their city) and how the file was matched."""

    orders: pd.Series  # indexed by city_id
    rows: int
    unmatched: list[dict]
    methods: dict[str, int]


def read_truth(data: bytes, ca: CityArrays, name: str = "truth.csv") -> Truth:
    """Orders per city from a truth file: columns ``geonameid, orders`` (GeoNames ids; ids of districts
    count for their city), or city / country / [region] / orders matched like a sales file."""
    head = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[0].lower() if data.strip() else ""
    columns = [c.strip() for c in head.split(",")]
    if "geonameid" in columns and "orders" in columns:
        frame = pd.read_csv(io.BytesIO(data), usecols=["geonameid", "orders"], dtype=str)
        frame["orders"] = pd.to_numeric(frame["orders"], errors="coerce")
        frame["geonameid"] = pd.to_numeric(frame["geonameid"], errors="coerce")
        if (
            frame["orders"].isna().any()
            or (frame["orders"] < 0).any()
            or not np.isfinite(frame["orders"]).all()
        ):
            raise InputError(f"{name}: orders must be numbers of zero or more on every row")
        if frame["geonameid"].isna().any():
            raise InputError(f"{name}: geonameid must be a GeoNames id (a whole number) on every row")
        frame["geonameid"] = frame["geonameid"].astype("int64")
        parent = dict(zip(ca.sections["city_id"], ca.sections["parent_city_id"], strict=True))
        ids = frame["geonameid"].map(lambda g: parent.get(g, g)).astype("int64")
        known = np.isin(ids, ca.city_id)
        unmatched = [
            {"row": int(i) + 2, "city": str(g), "country": "", "reason": "unknown GeoNames id"}
            for i, g in zip(frame.index[~known], frame["geonameid"][~known], strict=True)
        ]
        folded = int((ids != frame["geonameid"]).sum())
        orders = frame.loc[known, "orders"].groupby(ids[known]).sum().astype(float)
        methods = {"geonameid": int(known.sum()) - folded, "district folded": folded}
        return Truth(orders, len(frame), unmatched, {k: v for k, v in methods.items() if v})
    rows, measure = read_sales(data, name)
    report: MatchReport = match_cities(rows, measure, ca)
    orders = report.matched.groupby("city_id")["value"].sum().astype(float)
    return Truth(orders, len(rows), report.unmatched, report.methods())


@dataclass(frozen=True)
class ValidationResult:
    cities: int
    rows: int
    unmatched_rows: int
    prior_spearman: float
    population_spearman: float
    noise_ceiling: float
    calibrated_half_spearman: float  # mean over SPLITS random halves: trained on one, scored on the other
    calibrated_half_min: float
    prior_half_spearman: float  # the prior on the same held-out halves
    population_half_spearman: float  # a population-only model trained on the same halves
    population_region_half_spearman: (
        float  # Poisson GLM of population with region effects (no prior), same halves
    )
    size_bias: float  # slope of ln(orders / prior) on ln(population): > 0 = big cities under-predicted
    match_methods: dict[str, int]
    # Where the skill comes from (``within_between``): ranking inside regions vs ranking the regions.
    regions_compared: int = 0  # regions (admin-1) with at least MIN_REGION_CITIES matched cities
    within_region_prior: float = 0.0  # city-weighted mean of the per-region Spearman of the prior
    within_region_population: float = 0.0  # the same for population
    between_region_prior: float = 0.0  # Spearman over regions of summed orders with the summed prior
    between_region_population: float = 0.0  # ... with summed population

    def as_dict(self) -> dict:
        return asdict(self)


def noise_ceiling(orders: np.ndarray, splits: int = SPLITS, seed: int = 0) -> float:
    """How well any forecast could rank these cities given the orders' own noise: split each city's
    orders at random into two halves (binomial), correlate the halves (Spearman), Spearman-Brown correct
    to the full count, take the square root; the mean over ``splits`` splits."""
    rng = np.random.default_rng(seed)
    counts = np.round(orders).astype(np.int64)
    out = []
    for _ in range(splits):
        a = rng.binomial(counts, 0.5)
        r = rank_correlation(a, counts - a)
        full = 2 * r / (1 + r) if r > -1 else 0.0
        out.append(np.sqrt(max(full, 0.0)))
    return float(np.mean(out))


def size_bias(orders: np.ndarray, prior: np.ndarray, population: np.ndarray) -> float:
    """Least-squares slope of ln(orders / prior) on ln(population), over cities with orders: 0 when the
    prior's orders per inhabitant follow city size as the real ones do."""
    ok = (orders > 0) & (prior > 0)
    return float(np.polyfit(np.log(population[ok]), np.log(orders[ok] / prior[ok]), 1)[0])


MIN_REGION_CITIES = 20  # a region's own rank correlation is reported from this many matched cities


def within_between(orders: np.ndarray, prior: np.ndarray, population: np.ndarray, region: np.ndarray) -> dict:
    """Split the skill: how well the prior (and population) rank cities inside each region with at least
    MIN_REGION_CITIES cities (city-weighted mean Spearman), and how well their regional sums rank the
    regions. A prior that beats population only between regions adds nothing to within-region order."""
    frame = pd.DataFrame({"y": orders, "prior": prior, "pop": population, "region": region})
    inside = [
        (
            len(g),
            rank_correlation(g["prior"].to_numpy(), g["y"].to_numpy()),
            rank_correlation(g["pop"].to_numpy(), g["y"].to_numpy()),
        )
        for _r, g in frame.groupby("region")
        if len(g) >= MIN_REGION_CITIES
    ]
    sums = frame.groupby("region")[["y", "prior", "pop"]].sum()
    w = np.array(inside) if inside else np.zeros((0, 3))
    return {
        "regions_compared": len(inside),
        "within_region_prior": float(np.average(w[:, 1], weights=w[:, 0])) if inside else 0.0,
        "within_region_population": float(np.average(w[:, 2], weights=w[:, 0])) if inside else 0.0,
        "between_region_prior": rank_correlation(sums["prior"].to_numpy(), sums["y"].to_numpy())
        if len(sums) > 2
        else 0.0,
        "between_region_population": rank_correlation(sums["pop"].to_numpy(), sums["y"].to_numpy())
        if len(sums) > 2
        else 0.0,
    }


def validate(
    truth: Truth,
    ev: Evaluation,
    splits: int = SPLITS,
    seed: int = 0,
    losses: tuple[str, ...] = LOSSES,
) -> ValidationResult:
    """Rank correlations of the prior, population alone and the half-trained calibration with real orders
    (``losses``: the calibration's candidate losses; one of them alone to measure it, as bench/thinned.py does)."""
    ca = ev.prepared.ca
    ids = truth.orders.index.to_numpy(np.int64)
    if ids.size < 10:
        raise InputError(f"only {ids.size} cities in the truth file matched; validation needs at least 10")
    pos = np.searchsorted(ca.city_id, ids)
    y = truth.orders.to_numpy(float)
    prior = ev.columns["expected_units_month"][pos]
    X = feature_frame(ev).to_numpy(float)[pos]
    rng = np.random.default_rng(seed)
    cal, cal_prior, cal_pop, cal_pop_region = [], [], [], []
    with single_threaded_blas():  # as in calibrate(): small fits, BLAS threads only spin
        for _ in range(splits):
            train = np.zeros(ids.size, dtype=bool)
            train[rng.permutation(ids.size)[: ids.size // 2]] = True
            test = ~train
            model, cv = fit_model(
                X[train], y[train], losses=losses
            )  # as calibrate() fits it, on the training half
            base = SalesModel(loss=cv.loss).fit(baseline_columns(X[train]), y[train])
            cal.append(rank_correlation(model.predict_log(X[test]), y[test]))
            cal_prior.append(rank_correlation(prior[test], y[test]))
            cal_pop.append(rank_correlation(base.predict_log(baseline_columns(X[test])), y[test]))
            pop_region = population_region_model().fit(X[train], y[train])  # the plain GLM (also a candidate)
            cal_pop_region.append(rank_correlation(pop_region.predict_log(X[test]), y[test]))
    return ValidationResult(
        cities=int(ids.size),
        rows=truth.rows,
        unmatched_rows=len(truth.unmatched),
        prior_spearman=rank_correlation(prior, y),
        population_spearman=rank_correlation(ca.population[pos], y),
        noise_ceiling=noise_ceiling(y, splits, seed),
        calibrated_half_spearman=float(np.mean(cal)),
        calibrated_half_min=float(np.min(cal)),
        prior_half_spearman=float(np.mean(cal_prior)),
        population_half_spearman=float(np.mean(cal_pop)),
        population_region_half_spearman=float(np.mean(cal_pop_region)),
        size_bias=size_bias(y, prior, ca.population[pos]),
        match_methods=truth.methods,
        **within_between(
            y, prior, ca.population[pos], ca.iso2[pos].astype(str) + "-" + ca.regions[pos].astype(str)
        ),
    )
