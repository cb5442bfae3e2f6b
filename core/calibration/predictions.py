"""A calibration's outcome: the fitted model's predictions for every city, twin cities of the best sellers,
and how predictions enter a ranking (re-ordered only inside the calibration's countries)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from core.calibration.evaluation import CVReport, fit_model
from core.calibration.matching import MatchError, MatchReport, aggregate, match_cities
from core.calibration.model import FEATURES, feature_frame
from core.forecast import CityArrays, Evaluation, city_info


@dataclass
class Calibration:
    measure: str
    report: MatchReport
    cv: CVReport
    predictions: pd.DataFrame  # one row per city in scope
    twins: pd.DataFrame
    smoothing_km: float = 0.0  # the neighbour-smoothing width the final model chose (0: none)

    def metrics(self) -> dict:
        """Accuracy next to the population-only baseline (what the page, CLI and database keep)."""
        return {
            "cv_spearman": self.cv.spearman,
            "baseline_cv_spearman": self.cv.baseline_spearman,
            "cv_rmsle": self.cv.rmsle,
            "baseline_cv_rmsle": self.cv.baseline_rmsle,
            "n_train": int(self.predictions["in_training"].sum()),
            "n_folds": self.cv.n_folds,
            "fold_spearman": self.cv.fold_spearman,
            "fold_baseline_spearman": self.cv.fold_baseline_spearman,
            "folds_better": self.cv.folds_better,
            "beats_population": self.cv.beats_population,
            "smoothing_km": self.smoothing_km,
            "prior_cv_spearman": self.cv.prior_spearman,
            "fold_prior_spearman": self.cv.fold_prior_spearman,
            "folds_better_than_prior": self.cv.folds_better_than_prior,
            "loss": self.cv.loss,
            "model": self.cv.model,
        }

    def report_dict(self) -> dict:
        return {
            "matched_rows": self.report.matched_rows,
            "unmatched_rows": self.report.unmatched,
            "match_methods": self.report.methods(),
            "to_confirm": self.report.to_confirm(),
            "twins": self.twins.to_dict("records"),
        }


def matched_sales(
    sales: pd.DataFrame, measure: str, ca: CityArrays, minimum: int = 5
) -> tuple[MatchReport, pd.Series]:
    """Match the rows and sum them per city; too few cities raises MatchError carrying the report."""
    report = match_cities(sales, measure, ca)
    y_by_city = aggregate(report.matched)
    if len(y_by_city) < minimum:
        first = "; ".join(f"row {u['row']}: {u['reason']}" for u in report.unmatched[:3])
        raise MatchError(
            f"only {len(y_by_city)} cities matched ({report.matched_rows} of {len(sales)} rows); "
            f"at least {minimum} are needed. {first}",
            report,
        )
    return report, y_by_city


def calibrate(
    sales: pd.DataFrame,
    measure: str,
    ev: Evaluation,
    countries: list[str] | None = None,
    alpha: float = 1.0,
    extra: pd.DataFrame | None = None,
) -> Calibration:
    """Match, fit, cross-validate, predict every city in scope, and find twins of the best cities.
    ``extra``: more numeric features by city_id (e.g. search interest, core.trends.feature_columns),
    appended after the standard ones; cities it lacks get 0."""
    from core.forecast import scope_mask

    ca = ev.prepared.ca
    report, y_by_city = matched_sales(sales, measure, ca)
    X_all = feature_frame(ev)
    if extra is not None and not extra.empty:
        X_all = X_all.join(extra.reindex(X_all.index).fillna(0.0))
    X = X_all.loc[y_by_city.index].to_numpy(float)
    y = y_by_city.to_numpy()
    model, cv = fit_model(X, y, alpha)
    covered = sorted(city_info(ca, y_by_city.index)["country_iso2"].unique())
    mask = scope_mask(ca, countries or covered)
    ids = ca.city_id[mask]
    log_pred = model.predict_log(X_all.loc[ids].to_numpy(float))
    lo, hi = cv.residual_quantiles
    predictions = (
        pd.concat([pd.DataFrame({"city_id": ids}), city_info(ca, ids)], axis=1)
        .assign(
            predicted=np.maximum(np.expm1(log_pred), 0),
            predicted_low=np.maximum(np.expm1(log_pred + lo), 0),
            predicted_high=np.maximum(np.expm1(log_pred + hi), 0),
            in_training=np.isin(ids, y_by_city.index),
        )
        .sort_values(["predicted", "city_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    twins = twin_cities(X_all, y_by_city, mask, ca)
    return Calibration(measure, report, cv, predictions, twins, model.bandwidth_km_)


def twin_cities(
    X_all: pd.DataFrame,
    y_by_city: pd.Series,
    mask: np.ndarray,
    ca: CityArrays,
    best: int = 5,
    per_city: int = 3,
) -> pd.DataFrame:
    """For the user's best cities, the most similar cities they do not sell in yet (CARTO-style twin
    areas): standardised features without the prior, PCA to 5 components, Euclidean nearest neighbours.
    Similarity = 100 / (1 + distance)."""
    feats = [c for c in FEATURES if c != "log_prior"]
    Z = StandardScaler().fit_transform(X_all[feats].to_numpy(float))
    P = PCA(n_components=5, random_state=0).fit_transform(Z)
    pos = pd.Series(np.arange(len(X_all)), index=X_all.index)
    sold = set(y_by_city.index)
    pool = np.flatnonzero(mask & ~np.isin(ca.city_id, list(sold)))
    rows = []
    for cid in y_by_city.sort_values(ascending=False).index[:best]:
        d = np.linalg.norm(P[pool] - P[pos[cid]], axis=1)
        for j in np.argsort(d, kind="stable")[:per_city]:
            twin = pool[j]
            rows.append(
                {
                    "city_id": int(cid),
                    "city": ca.labels[pos[cid]],
                    "twin_id": int(ca.city_id[twin]),
                    "twin": ca.labels[twin],
                    "twin_country": ca.iso2[twin],
                    "similarity": 100 / (1 + float(d[j])),
                }
            )
    return pd.DataFrame(rows)


def apply_calibration(table: pd.DataFrame, predictions: pd.DataFrame, covered: list[str]) -> pd.DataFrame:
    """A ranking re-ordered by a calibration, inside the countries the calibration covers only.

    The calibration knows the countries of the user's sales (its predictions cover them): there its
    cities are re-ordered by the calibrated prediction, in the places those countries' cities already held
    in the ranking, so London keeps its place in a world ranking calibrated on Brazil. Elsewhere the
    prior's order stands. ``calibrated_units_month`` puts the predictions on the ranking's scale and period:
    the calibrated pattern (any measure, any period of the user's file) scaled so that the covered cities
    of the table add up to the prior's expected units a month there. ``prior_rank`` keeps the open-data rank.
    ``covered``: the calibration's countries (``calibration_scope``).
    """
    pred = predictions.set_index("city_id")["predicted"]
    inside = table["country_iso2"].isin(covered).to_numpy()
    raw = table["city_id"].map(pred)
    known = inside & raw.notna().to_numpy()
    total = float(raw[known].sum())
    scale = float(table.loc[known, "expected_units_month"].sum()) / total if total > 0 else np.nan
    calibrated = raw * scale
    slots = np.flatnonzero(inside)
    within = table.iloc[slots].assign(_c=calibrated.iloc[slots].to_numpy())
    reordered = within.sort_values(
        ["_c", "rank"], ascending=[False, True], na_position="last"
    ).index.to_numpy()
    order = table.index.to_numpy().copy()
    order[slots] = reordered
    out = table.loc[order].assign(calibrated_units_month=calibrated.loc[order].to_numpy())
    return out.assign(prior_rank=out["rank"].astype(int), rank=np.arange(1, len(out) + 1)).reset_index(
        drop=True
    )


def calibration_scope(predictions: pd.DataFrame, ca: CityArrays) -> list[str]:
    """The countries a calibration's predictions cover (where ``apply_calibration`` re-orders)."""
    ids = predictions["city_id"].to_numpy(np.int64)
    pos = np.searchsorted(ca.city_id, ids)
    ok = pos < ca.city_id.size
    ok[ok] = ca.city_id[pos[ok]] == ids[ok]  # a city no longer in the table is skipped, not an error
    return sorted(set(ca.iso2[pos[ok]].tolist()))
