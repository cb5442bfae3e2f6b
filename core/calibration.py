"""Learn from your own sales: read a sales file, match cities, fit a model, predict, find twin cities.

The model is a scikit-learn estimator (params in __init__, fit returns self, learned attributes end
in ``_``, check_is_fitted in predict). It regresses log sales on log city features and the log of the
prior forecast, so with little data it leans on the prior and with more it learns the user's market.
Accuracy is cross-validated and reported next to a population-only model fitted the same way.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from core.errors import InputError
from core.forecast import AMBIGUITY_RATIO, CityArrays, Evaluation, city_info
from core.names import alternate_names
from core.text import fold

MAX_BYTES = 20 * 1024 * 1024  # same as the upload limit in .streamlit/config.toml
MEASURES = ("units", "orders", "revenue")
FEATURES = [
    "log_prior", "log_population", "log_income", "online_buyers_pct", "internet_users_pct", "urban_pct",
    "age_15_24_pct", "age_25_34_pct", "age_35_44_pct", "age_65plus_pct", "logistics_index",
]  # fmt: skip
BASELINE_FEATURES = ["log_population"]
GENERIC_WORDS = {"city", "st", "saint", "santa", "sao", "san", "the", "de", "of"}
REGION_WORDS = {"state", "province", "region", "oblast", "governorate", "county", "department", "prefecture",
                "district", "autonomous", "community", "federal", "capital", "territory", "of", "the", "land"}  # fmt: skip


def _region_key(name: str) -> str:
    return " ".join(w for w in fold(name).split() if w not in REGION_WORDS)


@cache
def iso_subdivision_name(code: str) -> str | None:
    """The name of an ISO 3166-2 subdivision ("BR-SP" -> "São Paulo"), from pycountry."""
    import pycountry

    sub = pycountry.subdivisions.get(code=code.upper())
    return sub.name if sub is not None else None
Z80 = 1.2816


# --- reading ------------------------------------------------------------------------------
def read_sales(data: bytes, name: str = "sales.csv") -> tuple[pd.DataFrame, str]:
    """Parse a sales CSV into (rows, measure). Every problem raises InputError saying what to fix."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // 2**20} MB. Split the file.")
    if not data.strip():
        raise InputError(f"{name} is empty; it needs a header row and at least one sales row")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
            if encoding == "utf-16" and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
                raise UnicodeDecodeError(encoding, data, 0, 1, "no BOM")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{name} is not UTF-8 text; save it as 'CSV UTF-8' and upload it again")
    try:
        dialect = csv.Sniffer().sniff(text[:5000], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise InputError(f"{name} could not be read as CSV ({exc}); use commas between columns") from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    if len(frame.columns) == 1 and any(d in frame.columns[0] for d in ";\t|"):
        raise InputError(f"{name} has one column only; separate columns with commas (or semicolons)")
    missing = [c for c in ("city", "country") if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks the column(s) {', '.join(missing)}; columns found: {', '.join(frame.columns)}")
    measures = [m for m in MEASURES if m in frame.columns]
    if len(measures) != 1:
        raise InputError(f"{name} needs exactly one of the columns units, orders or revenue; found {measures or 'none'}")
    measure = measures[0]
    if frame.empty:
        raise InputError(f"{name} has a header but no sales rows")
    values = pd.to_numeric(frame[measure].str.replace(",", "", regex=False).str.strip(), errors="coerce")
    bad = frame.index[values.isna()].tolist()
    if bad:
        raise InputError(f"{measure} is not a number on row(s) {', '.join(str(i + 2) for i in bad[:10])}")
    neg = frame.index[values < 0].tolist()
    if neg:
        raise InputError(f"{measure} is negative on row(s) {', '.join(str(i + 2) for i in neg[:10])}")
    frame[measure] = values
    for col in ("region", "period"):
        if col not in frame.columns:
            frame[col] = ""
    key = ["city", "country", "region", "period"]
    dup = frame.duplicated(key, keep=False)
    if dup.any():
        rows = ", ".join(str(i + 2) for i in frame.index[dup][:10])
        raise InputError(f"rows {rows} repeat the same city, country, region and period; merge or remove them")
    frame["row"] = frame.index + 2  # the line number in the file (header is line 1)
    return frame[["row", *key, measure]], measure


# --- matching ------------------------------------------------------------------------------
@dataclass
class MatchReport:
    matched: pd.DataFrame  # row, city_id, measure value, period
    unmatched: list[dict] = field(default_factory=list)  # row, city, country, reason

    @property
    def matched_rows(self) -> int:
        return len(self.matched)


def _country_lookup(ca: CityArrays) -> dict[str, str]:
    f = ca.frame.drop_duplicates("country_iso2")
    out = {}
    for r in f.itertuples():
        out[r.country_iso2.lower()] = r.country_iso2
        out[r.country_iso3.lower()] = r.country_iso2
        out[fold(r.country_name)] = r.country_iso2
    return out


def _strip_generic(name: str) -> str:
    return " ".join(w for w in name.split() if w not in GENERIC_WORDS)


def match_cities(rows: pd.DataFrame, measure: str, ca: CityArrays) -> MatchReport:
    """Match each row to a city: accents and case folded, generic words tolerated, region (name,
    GeoNames code or ISO 3166-2 code like US-CA) to tell same-named cities apart. Unmatched and
    ambiguous rows are reported with the reason, never dropped silently."""
    f = ca.frame
    countries = _country_lookup(ca)
    by_name: dict[tuple[str, str], list[int]] = {}
    by_loose: dict[tuple[str, str], list[int]] = {}
    for i, (name, iso) in enumerate(zip(f["ascii_name"], f["country_iso2"], strict=True)):
        by_name.setdefault((iso, name), []).append(i)
        by_loose.setdefault((iso, _strip_generic(name)), []).append(i)
    by_alt: dict[tuple[str, str], list[int]] = {}
    alt = alternate_names()
    idx = np.searchsorted(ca.city_id, alt["city_id"].to_numpy())  # city arrays are sorted by id
    ok = (idx < len(ca.city_id)) & (ca.city_id[np.minimum(idx, len(ca.city_id) - 1)] == alt["city_id"].to_numpy())
    for i, iso, name in zip(idx[ok].tolist(), ca.iso2[idx[ok]].tolist(), alt["alt_name"].to_numpy()[ok].tolist(), strict=True):
        by_alt.setdefault((iso, name), []).append(i)
    admin_fold = f["admin1"].map(fold).to_numpy()
    admin_code = f["admin1_code"].str.lower().to_numpy()
    pop = f["population"].to_numpy()
    matched, unmatched = [], []
    for r in rows.itertuples():
        iso = countries.get(fold(r.country)) or countries.get(str(r.country).strip().lower())
        if iso is None:
            unmatched.append({"row": r.row, "city": r.city, "country": r.country, "reason": f"unknown country {r.country!r}"})
            continue
        name = fold(r.city)
        cand = (by_name.get((iso, name)) or by_loose.get((iso, _strip_generic(name)))
                or by_alt.get((iso, name)) or [])  # GeoNames alternate names ("Cologne" = Köln)
        region = fold(r.region)
        if cand and region:
            raw = str(r.region).strip().lower()
            # ISO 3166-2 ("US-IL", "BR-SP") or a bare code ("IL"): GeoNames' admin1 code where it is the
            # same (US states), else the ISO subdivision's name (pycountry) matched to the admin1 name.
            iso_code = re.fullmatch(r"[a-z]{2}-[a-z0-9]{1,3}", raw) is not None
            code = raw.split("-", 1)[1] if iso_code else raw
            keys = {_region_key(r.region)}
            if iso_code and (sub := iso_subdivision_name(raw)):
                keys.add(_region_key(sub))
            narrowed = [i for i in cand if admin_fold[i] == region or admin_code[i] == code
                        or _region_key(f["admin1"].iat[i]) in keys]  # fmt: skip
            if not narrowed:
                unmatched.append({"row": r.row, "city": r.city, "country": r.country,
                                  "reason": f"no {r.city!r} in region {r.region!r}"})  # fmt: skip
                continue
            cand = narrowed
        if not cand:
            unmatched.append({"row": r.row, "city": r.city, "country": r.country,
                              "reason": f"no city {r.city!r} in {iso} among cities of 15,000+ people"})  # fmt: skip
            continue
        if len(cand) > 1:
            ordered = sorted(cand, key=lambda i: -pop[i])
            if pop[ordered[0]] < AMBIGUITY_RATIO * pop[ordered[1]]:
                options = "; ".join(f"{f['admin1'].iat[i]}" for i in ordered[:4])
                unmatched.append({"row": r.row, "city": r.city, "country": r.country,
                                  "reason": f"ambiguous: {len(cand)} cities named {r.city!r} in {iso}; add a region ({options})"})  # fmt: skip
                continue
            cand = ordered[:1]
        matched.append({"row": r.row, "city_id": int(ca.city_id[cand[0]]), "period": r.period,
                        "value": float(getattr(r, measure))})  # fmt: skip
    return MatchReport(pd.DataFrame(matched, columns=["row", "city_id", "period", "value"]), unmatched)


def aggregate(matched: pd.DataFrame) -> pd.Series:
    """Sales per city: the mean over the periods given (a total when there is no period)."""
    if matched.empty:
        return pd.Series(dtype=float)
    n_periods = max(1, matched["period"].replace("", np.nan).nunique())
    return matched.groupby("city_id")["value"].sum() / n_periods


# --- features and model ---------------------------------------------------------------------
def feature_frame(ev: Evaluation) -> pd.DataFrame:
    """City features, indexed by city_id, with the prior forecast as a feature."""
    f = ev.prepared.ca.frame
    return pd.DataFrame(
        {
            "log_prior": np.log(np.maximum(ev.columns["expected_units_month"], 1e-9)),
            "log_population": np.log(f["population"].to_numpy()),
            "log_income": np.log(f["gdp_per_capita_ppp"].to_numpy()),
            **{c: f[c].to_numpy(float) for c in FEATURES if c in f.columns},
        },
        index=pd.Index(ev.prepared.ca.city_id, name="city_id"),
    )[FEATURES]


class SalesModel(RegressorMixin, BaseEstimator):
    """Ridge regression of log(1 + sales) on standardised features; predicts sales (same measure)."""

    def __init__(self, alpha: float = 1.0, features: tuple[str, ...] = tuple(FEATURES)) -> None:
        self.alpha = alpha
        self.features = features

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> SalesModel:
        y = np.asarray(y, float)
        if len(y) < 3:
            raise InputError("calibration needs sales in at least 3 matched cities")
        self.pipeline_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        self.pipeline_.fit(np.asarray(X[list(self.features)], float), np.log1p(y))
        self.n_features_in_ = len(self.features)
        return self

    def predict_log(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict(np.asarray(X[list(self.features)], float))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.maximum(np.expm1(self.predict_log(X)), 0.0)


@dataclass
class CVReport:
    spearman: float
    baseline_spearman: float
    rmsle: float  # root mean squared error of log(1 + sales): the error on the scale of sales
    baseline_rmsle: float
    residual_quantiles: tuple[float, float]  # 10th and 90th percentile of out-of-fold log residuals
    n_folds: int


def _oof(model: SalesModel, X: pd.DataFrame, y: np.ndarray, folds: KFold) -> np.ndarray:
    pred = np.empty_like(y, dtype=float)
    for tr, te in folds.split(X):
        pred[te] = model.__class__(**model.get_params()).fit(X.iloc[tr], y[tr]).predict_log(X.iloc[te])
    return pred


def cross_validate(X: pd.DataFrame, y: np.ndarray, alpha: float = 1.0, seed: int = 0) -> CVReport:
    """K-fold (up to 5) out-of-fold accuracy of the model and of the population-only baseline."""
    n = len(y)
    if n < 5:
        raise InputError("cross-validation needs sales in at least 5 matched cities")
    folds = KFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    ly = np.log1p(y)
    full = _oof(SalesModel(alpha), X, y, folds)
    base = _oof(SalesModel(alpha, tuple(BASELINE_FEATURES)), X, y, folds)
    resid = ly - full

    def rho(pred: np.ndarray) -> float:
        r = spearmanr(pred, ly).statistic
        return float(r) if np.isfinite(r) else 0.0

    return CVReport(rho(full), rho(base), float(np.sqrt(np.mean(resid**2))), float(np.sqrt(np.mean((ly - base) ** 2))),
                    (float(np.quantile(resid, 0.1)), float(np.quantile(resid, 0.9))), folds.get_n_splits())  # fmt: skip


@dataclass
class Calibration:
    measure: str
    report: MatchReport
    cv: CVReport
    predictions: pd.DataFrame  # one row per city in scope
    twins: pd.DataFrame

    def metrics(self) -> dict:
        """Accuracy next to the population-only baseline (what the page, CLI and database keep)."""
        return {"cv_spearman": self.cv.spearman, "baseline_cv_spearman": self.cv.baseline_spearman,
                "cv_rmsle": self.cv.rmsle, "baseline_cv_rmsle": self.cv.baseline_rmsle,
                "n_train": int(self.predictions["in_training"].sum()), "n_folds": self.cv.n_folds}  # fmt: skip

    def report_dict(self) -> dict:
        return {"matched_rows": self.report.matched_rows, "unmatched_rows": self.report.unmatched,
                "twins": self.twins.to_dict("records")}  # fmt: skip


def calibrate(
    sales: pd.DataFrame, measure: str, ev: Evaluation, countries: list[str] | None = None, alpha: float = 1.0,
) -> Calibration:  # fmt: skip
    """Match, fit, cross-validate, predict every city in scope, and find twins of the best cities."""
    from core.forecast import scope_mask

    ca = ev.prepared.ca
    report = match_cities(sales, measure, ca)
    y_by_city = aggregate(report.matched)
    if len(y_by_city) < 5:
        raise InputError(f"only {len(y_by_city)} cities matched; calibration needs at least 5 (see the unmatched rows)")
    X_all = feature_frame(ev)
    X = X_all.loc[y_by_city.index]
    y = y_by_city.to_numpy()
    cv = cross_validate(X, y, alpha)
    model = SalesModel(alpha).fit(X, y)
    covered = sorted(city_info(ca, y_by_city.index)["country_iso2"].unique())
    mask = scope_mask(ca, countries or covered)
    ids = ca.city_id[mask]
    log_pred = model.predict_log(X_all.loc[ids])
    lo, hi = cv.residual_quantiles
    predictions = pd.concat([pd.DataFrame({"city_id": ids}), city_info(ca, ids)], axis=1).assign(
        predicted=np.maximum(np.expm1(log_pred), 0), predicted_low=np.maximum(np.expm1(log_pred + lo), 0),
        predicted_high=np.maximum(np.expm1(log_pred + hi), 0), in_training=np.isin(ids, y_by_city.index),
    ).sort_values(["predicted", "city_id"], ascending=[False, True]).reset_index(drop=True)
    twins = twin_cities(X_all, y_by_city, mask, ca)
    return Calibration(measure, report, cv, predictions, twins)


def twin_cities(X_all: pd.DataFrame, y_by_city: pd.Series, mask: np.ndarray, ca: CityArrays, best: int = 5,
                per_city: int = 3) -> pd.DataFrame:  # fmt: skip
    """For the user's best cities, the most similar cities they do not sell in yet (CARTO-style twin
    areas): standardised features without the prior, PCA to 5 components, Euclidean nearest neighbours.
    Similarity = 100 / (1 + distance)."""
    feats = [c for c in FEATURES if c != "log_prior"]
    Z = StandardScaler().fit_transform(X_all[feats].to_numpy(float))
    P = PCA(n_components=5, random_state=0).fit_transform(Z)
    pos = pd.Series(np.arange(len(X_all)), index=X_all.index)
    sold = set(y_by_city.index)
    pool = np.flatnonzero(mask & ~np.isin(ca.city_id, list(sold)))
    names = ca.frame.set_index("city_id")
    rows = []
    for cid in y_by_city.sort_values(ascending=False).index[:best]:
        d = np.linalg.norm(P[pool] - P[pos[cid]], axis=1)
        for j in np.argsort(d, kind="stable")[:per_city]:
            twin = int(ca.city_id[pool[j]])
            rows.append({"city_id": int(cid), "city": names.at[cid, "name"], "twin_id": twin,
                         "twin": names.at[twin, "name"], "twin_country": names.at[twin, "country_iso2"],
                         "similarity": 100 / (1 + float(d[j]))})  # fmt: skip
    return pd.DataFrame(rows)


def apply_calibration(table: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """A ranking re-sorted by calibrated predictions (cities without one go last, in prior order)."""
    pred = predictions.set_index("city_id")["predicted"]
    out = table.assign(calibrated_prediction=table["city_id"].map(pred))
    out = out.sort_values(["calibrated_prediction", "rank"], ascending=[False, True], na_position="last")
    return out.assign(prior_rank=out["rank"], rank=np.arange(1, len(out) + 1)).reset_index(drop=True)
