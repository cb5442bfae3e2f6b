"""How good a calibration is: cross-validated fold by fold next to a population-only model fitted the same
way, the candidate chosen, and the sentences that say what the numbers support."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import ConstantInputWarning, spearmanr
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from core.calibration.model import CANDIDATES, LOSSES, MODELS, PRIOR_COLUMN, SalesModel, baseline_columns
from core.errors import InputError

MIN_CITIES_FOR_CLAIM = 20  # "better than population" needs at least this many cities ...


@dataclass
class CVReport:
    spearman: float
    baseline_spearman: float
    rmsle: float  # root mean squared error of log(1 + sales): the error on the scale of sales
    baseline_rmsle: float
    residual_quantiles: tuple[float, float]  # 10th and 90th percentile of out-of-fold log residuals
    n_folds: int
    fold_spearman: list[float] = field(default_factory=list)
    fold_baseline_spearman: list[float] = field(default_factory=list)
    n_cities: int = 0
    prior_spearman: float = 0.0  # the uncalibrated forecast's own rank correlation with the sales (no fit)
    fold_prior_spearman: list[float] = field(default_factory=list)
    loss: str = "log1p"  # the model's loss (LOSSES), the same for the population-only baseline
    model: str = "full"  # which model (MODELS) these figures are of

    @property
    def folds_better_than_prior(self) -> int:
        return sum(a > b for a, b in zip(self.fold_spearman, self.fold_prior_spearman, strict=True))

    @property
    def folds_better(self) -> int:
        return sum(a > b for a, b in zip(self.fold_spearman, self.fold_baseline_spearman, strict=True))

    @property
    def beats_population(self) -> bool:
        """The claim "better than population alone" holds only when every fold says so, on enough cities."""
        n = len(self.fold_spearman)
        return n >= 3 and self.folds_better == n and self.n_cities >= MIN_CITIES_FOR_CLAIM


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 0 where it is undefined (fewer than 2 values, or one side constant,
    as with a fold of cities that all sold nothing)."""
    if len(a) < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        r = spearmanr(a, b).statistic
    return float(r) if np.isfinite(r) else 0.0


def cross_validate(
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    seed: int = 0,
    loss: str = "log1p",
    model: str = "full",
) -> CVReport:
    """K-fold (up to 5) out-of-fold accuracy of the model (``MODELS[model]``) and of the population-only
    baseline (both with ``loss``), and of the uncalibrated forecast, overall and fold by fold."""
    make = MODELS[model]
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n = len(y)
    if n < 5:
        raise InputError("cross-validation needs sales in at least 5 matched cities")
    folds = KFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    ly = np.log1p(y)
    full, base = np.empty(n), np.empty(n)
    fold_full, fold_base, fold_prior = [], [], []
    for tr, te in folds.split(X):
        full[te] = make(alpha, loss).fit(X[tr], y[tr]).predict_log(X[te])
        base[te] = (
            SalesModel(alpha, loss=loss)
            .fit(baseline_columns(X[tr]), y[tr])
            .predict_log(baseline_columns(X[te]))
        )
        fold_full.append(rank_correlation(full[te], ly[te]))
        fold_base.append(rank_correlation(base[te], ly[te]))
        fold_prior.append(rank_correlation(X[te, PRIOR_COLUMN], ly[te]))
    resid = ly - full
    return CVReport(
        rank_correlation(full, ly),
        rank_correlation(base, ly),
        float(np.sqrt(np.mean(resid**2))),
        float(np.sqrt(np.mean((ly - base) ** 2))),
        (float(np.quantile(resid, 0.1)), float(np.quantile(resid, 0.9))),
        folds.get_n_splits(),
        fold_full,
        fold_base,
        n,
        rank_correlation(X[:, PRIOR_COLUMN], ly),
        fold_prior,
        loss,
        model,
    )


def select_model(
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    seed: int = 0,
    losses: tuple[str, ...] = LOSSES,
    region_glm: bool = True,
) -> CVReport:
    """Cross-validate each candidate (the full model with each of ``losses``; the plain region GLM unless
    ``region_glm`` is False) on the same folds and keep the one whose out-of-fold rank correlation is
    higher, averaged over the folds (a tie keeps the earlier: the full model, log1p first)."""
    cands = [
        (m, loss)
        for m, loss in CANDIDATES
        if (m == "full" and loss in losses) or (m != "full" and region_glm)
    ]
    with single_threaded_blas():
        reports = [cross_validate(X, y, alpha, seed, loss, model) for model, loss in cands]
    return max(reports, key=lambda r: float(np.mean(r.fold_spearman)))


def fit_model(
    X: np.ndarray,
    y: np.ndarray,
    alpha: float = 1.0,
    losses: tuple[str, ...] = LOSSES,
    region_glm: bool = True,
) -> tuple[SalesModel, CVReport]:
    """The calibration model for these cities: the candidate chosen by ``select_model``, fitted on all of
    them, with its cross-validation report. calibrate() and the validation's held-out halves both use it."""
    cv = select_model(X, y, alpha, losses=losses, region_glm=region_glm)
    with single_threaded_blas():
        return MODELS[cv.model](alpha, cv.loss).fit(X, y), cv


def single_threaded_blas() -> threadpool_limits:
    """BLAS on one thread for the model fits: their matrices are a few thousand rows by a few dozen
    columns, where OpenBLAS's threads only spin (a Poisson fit on 966 cities: 0.19 s threaded, 0.015 s
    on one thread, measured in session 5)."""
    return threadpool_limits(limits=1, user_api="blas")


def accuracy_claim(metrics: dict) -> tuple[bool, str]:
    """What the page may say about accuracy, from stored metrics: (is it a success, the sentence)."""
    folds = metrics.get("fold_spearman") or []
    better = metrics.get("folds_better", 0)
    n = metrics.get("n_train", 0)
    if metrics.get("beats_population"):
        return (
            True,
            f"Calibration ranks your cities better than population alone in every one of {len(folds)} cross-validation folds.",
        )
    if n < MIN_CITIES_FOR_CLAIM:
        return False, (
            f"Only {n} cities in your file: too few to say whether calibration beats population alone "
            f"(that needs {MIN_CITIES_FOR_CLAIM}+ cities and every fold to agree)."
        )
    return False, (
        f"Calibration beats population alone in {better} of {len(folds)} folds: not consistently, "
        "so treat its predictions with care."
    )


def prior_sentence(metrics: dict) -> tuple[bool, str]:
    """How the calibration compares with the uncalibrated forecast on the same folds: (does it add
    something, the sentence). As for "better than population" (``accuracy_claim``), the claim needs every
    fold: when the sales carry no more than the forecast, each fold is a coin flip, and "most folds" would
    be claimed half the time. Sparse sales (a few orders per city) often cannot beat it."""
    folds = metrics.get("fold_prior_spearman") or []
    better = metrics.get("folds_better_than_prior", 0)
    prior = metrics.get("prior_cv_spearman", 0.0)
    if folds and better == len(folds):
        return True, (
            f"The uncalibrated forecast alone ranks these cities at {prior:.2f}; calibration is better in "
            f"every one of {len(folds)} folds."
        )
    return False, (
        f"The uncalibrated forecast alone ranks these cities at {prior:.2f}, and calibration is better in only "
        f"{better} of {len(folds)} folds: your sales do not consistently say more than the forecast (common "
        "with few sales per city), so prefer the forecast's own ranking."
    )


LOSS_LABELS = {
    "log1p": "least squares on log(1 + sales)",
    "poisson": "a Poisson regression on the sales counts",
}


def model_sentence(loss: str, model: str = "full") -> str:
    """Which of the candidate models cross-validation chose for this file (methodology section 17)."""
    if model == "population_region":
        return (
            "Model: population with region effects (a Poisson regression, no other features), which ranked your "
            "cities better in cross-validation than the full model with its city features: your file is too "
            "sparse for them, so the predictions rest on population and your regions' sales."
        )
    other = next(v for k, v in LOSS_LABELS.items() if k != loss)
    return (
        f"Model: {LOSS_LABELS[loss]} on the city features, the forecast and region effects, which ranked your "
        f"cities at least as well in cross-validation as {other} and as population with region effects alone."
    )


def smoothing_sentence(smoothing_km: float) -> str:
    """What the page says about the neighbour smoothing the model chose (methodology section 17)."""
    if smoothing_km > 0:
        return (
            f"Nearby cities: what your sales say beyond the city features and regions is smoothed over about "
            f"{smoothing_km:,.0f} km (the width your own cities support best, chosen by leave-one-out)."
        )
    return (
        "Nearby cities: your sales show no local pattern beyond the city features and regions, so predictions "
        "do not borrow from neighbouring cities."
    )
