"""The calibration model: a scikit-learn estimator (params in __init__, fit returns self, learned attributes
end in ``_``, check_is_fitted in predict). It regresses log sales on log city features, the log of the prior
forecast and (with enough cities) shrunken region effects, so with little data it leans on the prior and with
more it learns the user's market."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import PoissonRegressor, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from core.forecast import Evaluation
from core.places.geo import chord_to_km, unit_vectors

FEATURES = [
    "log_prior",
    "log_population",
    "log_income",
    "online_buyers_pct",
    "internet_users_pct",
    "urban_pct",
    "age_15_24_pct",
    "age_25_34_pct",
    "age_35_44_pct",
    "age_65plus_pct",
    "logistics_index",
]
REGION_COLUMN = "region_code"  # the integer code of a city's admin-1 region (a model group)
MIN_REGION_CITIES = 3  # a region gets its own effect once this many training cities are in it
COORD_COLUMNS_NAMES = ("lat", "lon")  # a city's coordinates: the model's neighbour smoothing, not features
BANDWIDTHS_KM = (25.0, 50.0, 100.0, 200.0)  # Gaussian kernel widths tried for the neighbour smoothing
NEIGHBOURS = 20  # training cities a prediction borrows residuals from (the nearest ones)
SMOOTHING_PRIOR_WEIGHT = 1.0  # the smoothed residual shrinks to 0 as if one more neighbour had residual 0
LOSSES = ("log1p", "poisson")  # least squares on log(1 + sales), or a Poisson GLM on the counts (section 17)


def feature_frame(ev: Evaluation) -> pd.DataFrame:
    """City features, indexed by city_id, with the prior forecast as a feature and the admin-1 region
    as an integer code (the model's group column)."""
    ca = ev.prepared.ca
    f = ca.frame
    region = pd.factorize(f["country_iso2"].astype(str) + "-" + f["admin1_code"].astype(str))[0]
    return pd.DataFrame(
        {
            "log_prior": np.log(np.maximum(ev.columns["expected_units_month"], 1e-9)),
            "log_population": np.log(f["population"].to_numpy()),
            "log_income": np.log(f["gdp_per_capita_ppp"].to_numpy()),
            **{c: f[c].to_numpy(float) for c in FEATURES if c in f.columns},
            REGION_COLUMN: region.astype(float),
            "lat": f["lat"].to_numpy(float),
            "lon": f["lon"].to_numpy(float),
        },
        index=pd.Index(ca.city_id, name="city_id"),
    )[[*FEATURES, REGION_COLUMN, *COORD_COLUMNS_NAMES]]


GROUP_COLUMN = len(FEATURES)  # position of REGION_COLUMN in feature_frame
COORD_COLUMNS = (GROUP_COLUMN + 1, GROUP_COLUMN + 2)  # positions of lat, lon in feature_frame
POPULATION_COLUMN = FEATURES.index("log_population")
PRIOR_COLUMN = FEATURES.index("log_prior")


class SalesModel(RegressorMixin, BaseEstimator):
    """Penalised regression of sales on standardised numeric features (least squares on log(1 + sales), or
    a Poisson GLM), with optional group effects and optional smoothing of residuals between neighbouring
    cities.

    ``X`` is numeric. With ``group_column`` set, that column holds integer group codes (the city's
    region): one-hot encoded, groups with fewer than ``min_group_size`` training rows pooled, and shrunk
    by the same ridge penalty, so a region's effect grows with the evidence for it (like a random
    effect). With ``coord_columns`` set (latitude, longitude in degrees; not features), a prediction adds
    the kernel-weighted mean of the training residuals of its ``NEIGHBOURS`` nearest training cities,
    shrunk towards 0 by ``SMOOTHING_PRIOR_WEIGHT``; the kernel width is chosen from ``bandwidths_km`` by
    leave-one-out error on the training residuals, and none is used (``bandwidth_km_`` = 0) when no
    width lowers that error. ``loss``: "log1p" fits least squares on log(1 + sales); "poisson" a Poisson
    GLM (log link) on the sales themselves, with the same penalty per row (alpha / n), the likelihood of
    counts, which copes better with many cities of 0, 1 or 2 orders. Sales cannot be negative: negative
    targets count as zero. Predictions are sales; ``predict_log`` gives log(1 + sales) for either loss.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        group_column: int | None = None,
        min_group_size: int = MIN_REGION_CITIES,
        coord_columns: tuple[int, int] | None = None,
        bandwidths_km: tuple[float, ...] = BANDWIDTHS_KM,
        loss: str = "log1p",
        columns: tuple[int, ...] | None = None,
    ) -> None:
        self.alpha = alpha
        self.group_column = group_column
        self.min_group_size = min_group_size
        self.coord_columns = coord_columns
        self.bandwidths_km = bandwidths_km
        self.loss = loss
        self.columns = columns

    def _select(self, X: np.ndarray) -> np.ndarray:
        """The columns this model uses (``columns``; all when None); group and coordinate indices refer to them."""
        return X if self.columns is None else X[:, list(self.columns)]

    def fit(self, X: object, y: object) -> SalesModel:
        X, y = validate_data(self, X, y, y_numeric=True)
        X = self._select(X)
        coords = list(self.coord_columns or ())
        if coords and max(coords) >= X.shape[1]:
            raise ValueError(
                f"coord_columns {tuple(coords)} are not columns of X: X has {X.shape[1]} feature(s)"
            )
        numeric = [j for j in range(X.shape[1]) if j != self.group_column and j not in coords]
        parts: list[tuple] = [("num", StandardScaler(), numeric)] if numeric else []
        if self.group_column is not None:
            parts.append(
                (
                    "group",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        min_frequency=self.min_group_size,
                        sparse_output=False,
                    ),
                    [self.group_column],
                )
            )
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        sales = np.maximum(y, 0.0)
        poisson = self.loss == "poisson"
        # Only coordinates (or no sales at all): the base is the mean, and the neighbour smoothing does the rest.
        if parts and not (poisson and sales.sum() <= 0):
            base = (
                PoissonRegressor(alpha=self.alpha / len(y), solver="newton-cholesky", max_iter=100)
                if poisson
                else Ridge(alpha=self.alpha)
            )
        else:
            base = DummyRegressor(strategy="mean")
        self.pipeline_ = Pipeline(
            [("features", ColumnTransformer(parts or [("none", "drop", coords)])), ("model", base)]
        )
        target = np.log1p(sales)
        self.pipeline_.fit(X, sales if poisson else target)
        self.bandwidth_km_ = 0.0
        if coords:
            self.residuals_ = target - self._base_log(X)
            self.tree_ = cKDTree(unit_vectors(X[:, coords[0]], X[:, coords[1]]))
            self.bandwidth_km_ = self._choose_bandwidth(X[:, coords])
        return self

    def _base_log(self, X: np.ndarray) -> np.ndarray:
        """log(1 + sales) of the fitted model before neighbour smoothing."""
        pred = self.pipeline_.predict(X)
        return np.log1p(np.maximum(pred, 0.0)) if self.loss == "poisson" else pred

    def _neighbours(self, latlon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = min(NEIGHBOURS + 1, len(self.residuals_))
        chord, idx = self.tree_.query(unit_vectors(latlon[:, 0], latlon[:, 1]), k=k)
        chord, idx = chord.reshape(len(latlon), k), idx.reshape(len(latlon), k)  # k = 1 drops an axis
        return chord_to_km(chord), idx

    def _smoothed(
        self, dist: np.ndarray, idx: np.ndarray, bandwidth_km: float, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        w = np.exp(-0.5 * (dist / bandwidth_km) ** 2)
        if exclude is not None:
            w = np.where(idx == exclude[:, None], 0.0, w)
        else:
            w = w[:, :NEIGHBOURS]  # the extra neighbour is only fetched to leave a city itself out
            idx = idx[:, :NEIGHBOURS]
        return (w * self.residuals_[idx]).sum(axis=1) / (w.sum(axis=1) + SMOOTHING_PRIOR_WEIGHT)

    def _choose_bandwidth(self, latlon: np.ndarray) -> float:
        """The width whose leave-one-out smoothed residual best predicts each training city's own
        residual; 0 (no smoothing) when none beats predicting 0."""
        dist, idx = self._neighbours(latlon)
        own = np.arange(len(self.residuals_))
        best, best_err = 0.0, float(np.mean(self.residuals_**2))
        for h in self.bandwidths_km:
            err = float(np.mean((self.residuals_ - self._smoothed(dist, idx, h, exclude=own)) ** 2))
            if err < best_err:
                best, best_err = float(h), err
        return best

    def predict_log(self, X: object) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        X = self._select(validate_data(self, X, reset=False))
        out = self._base_log(X)
        if self.bandwidth_km_ > 0:
            dist, idx = self._neighbours(X[:, list(self.coord_columns)])
            out = out + self._smoothed(dist, idx, self.bandwidth_km_)
        return out

    def predict(self, X: object) -> np.ndarray:
        return np.maximum(np.expm1(self.predict_log(X)), 0.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # fits log(1 + max(y, 0)): arbitrary real targets fit poorly
        return tags


def full_model(alpha: float = 1.0, loss: str = "log1p") -> SalesModel:
    """The calibration model: every feature, the prior, region effects and neighbour smoothing."""
    return SalesModel(alpha, group_column=GROUP_COLUMN, coord_columns=COORD_COLUMNS, loss=loss)


def population_region_model(alpha: float = 1.0, loss: str = "poisson") -> SalesModel:
    """A plain region GLM: log population with region effects, nothing else (no prior, no smoothing). On a
    sparse file it can rank cities better than the full model, whose many features the few sales cannot
    pin down; cross-validation chooses (``select_model``)."""
    return SalesModel(alpha, group_column=1, columns=(POPULATION_COLUMN, GROUP_COLUMN), loss=loss)


MODELS = {"full": full_model, "population_region": population_region_model}
# The models cross-validation chooses between, as (model, loss): the full model with either loss, and the
# plain region GLM (methodology section 17).
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("full", "log1p"),
    ("full", "poisson"),
    ("population_region", "poisson"),
)


def baseline_columns(X: np.ndarray) -> np.ndarray:
    return X[:, [POPULATION_COLUMN]]
