"""Product Analyst math: classify free text into the taxonomy (TF-IDF) and rate the product (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from core.forecast.categories import Category, all_categories


@cache
def _index() -> tuple[TfidfVectorizer, np.ndarray]:
    docs = [f"{c.name} {' '.join(c.keywords)}" for c in all_categories()]
    # Character n-grams within words: plurals and compounds still match ("earbuds" ~ "earbud").
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 5), sublinear_tf=True)
    return vec, vec.fit_transform([d.lower() for d in docs])


def classify(text: str, top: int = 3) -> list[tuple[Category, float]]:
    """The most similar categories to a name + description (cosine similarity of TF-IDF vectors)."""
    vec, matrix = _index()
    q = vec.transform([text.lower()])
    sims = (matrix @ q.T).toarray().ravel()
    order = np.argsort(-sims, kind="stable")[:top]
    cats = all_categories()
    return [(cats[i], float(sims[i])) for i in order]


@dataclass(frozen=True)
class Rating:
    score: float  # 0-100
    reasons: list[str]


def market_fit(price: float, good_low: list[float], good_high: list[float], cities: list[str]) -> Rating:
    """How well the price fits the top cities' markets: the share of them where the price lies inside the
    range that earns at least 95 % of the best profit there (core.forecast.good_price_range). It moves with
    the price, the unit cost, the category's elasticity and the scope."""
    inside = below = above = unprofitable = 0
    for lo, hi in zip(good_low, good_high, strict=True):
        if lo != lo or hi != hi:  # NaN: no price in the bounds makes money there
            unprofitable += 1
        elif price < lo:
            below += 1
        elif price > hi:
            above += 1
        else:
            inside += 1
    n = len(cities)
    score = 100.0 * inside / n if n else 0.0
    reasons = [f"price inside the best-profit range in {inside} of the top {n} cities"]
    if below:
        reasons.append(f"below it in {below} (room to raise the price)")
    if above:
        reasons.append(f"above it in {above} (volume lost to the price)")
    if unprofitable:
        reasons.append(f"no profitable price in {unprofitable} (costs exceed what the market pays)")
    return Rating(score, reasons)


def production_complexity(complexity_1to5: int) -> Rating:
    """The category's production complexity (1-5, data/manufacturing.csv, an assumption per category): it
    does not look at the product itself, and says so."""
    return Rating(
        20.0 * complexity_1to5,
        [
            f"category complexity {complexity_1to5}/5 from the category table "
            "(an assumption for the whole category, not this product)"
        ],
    )


def expected_quality(price: float, typical_price: float) -> Rating:
    """Price position: where the price sits against the category's typical price (0 = far below, 50 =
    typical, 100 = far above). What buyers will expect at that price, not a measured quality."""
    ratio = price / typical_price
    score = float(np.clip(50 + 35 * np.log2(ratio), 0, 100))
    tier = "premium" if ratio > 1.5 else "mid-market" if ratio > 0.67 else "value"
    return Rating(
        score,
        [
            f"price is {ratio:.2f}x the category's typical ${typical_price:,.0f}: a {tier} position "
            "(buyers' expectation at this price, not a quality measurement)"
        ],
    )


def understanding_report(
    name: str,
    description: str,
    category: str,
    used_climate: str,
    used_season: tuple[int, ...],
    launch_month: int | None,
) -> dict:
    """What the name and description say (core.forecast.understanding) next to what the forecast used: the
    analyst may have corrected it. Every value comes from the reading or the product's inputs."""
    from core.forecast.understanding import understand

    u = understand(name, description, category)
    return {
        "product_type": u.product_type,
        "product_type_confidence": u.product_type_confidence,
        "product_type_evidence": list(u.product_type_evidence),
        "climate_read": u.climate,
        "climate_confidence": u.climate_confidence,
        "climate_evidence": list(u.climate_evidence),
        "climate_used": used_climate,
        "climate_corrected": used_climate != u.climate,
        "season_read": list(u.season_months),
        "season_used": list(used_season),
        "season_corrected": tuple(used_season) != tuple(u.season_months),
        "launch_month": launch_month,
        "gender": u.gender,
        "audience": u.audience,
        "suggested_ages": list(u.suggested_ages),
    }


def understanding_sentence(r: dict) -> str:
    """The Product Analyst's sentence on what it understood and how sure it is."""
    kind = (
        f'type "{r["product_type"].rsplit(" > ", 1)[-1]}" (Google product taxonomy: {r["product_type"]}; '
        f"{100 * r['product_type_confidence']:.0f} % of its words matched: {', '.join(r['product_type_evidence'])})"
        if r["product_type"]
        else "a product the taxonomy has no closer category for"
    )
    if r["climate_read"] != "none":
        clim = (
            f"a {r['climate_read']}-weather product ({100 * r['climate_confidence']:.0f} % sure, from "
            f"{', '.join(repr(w) for w in r['climate_evidence'])})"
        )
    else:
        clim = "no climate affinity"
    text = f"Read from the name and description: {kind}; {clim}"
    if r["climate_corrected"]:
        text += f"; you set it to {r['climate_used'] if r['climate_used'] != 'none' else 'no climate affinity'}, which the forecast uses"
    if r["season_used"]:
        text += f"; a calendar season in months {', '.join(map(str, r['season_used']))}"
    if r["gender"] != "any":
        text += f"; for {r['gender']} (no city data on sex ratios: this does not change the ranking)"
    if r["audience"] != "adults":
        ages = ", ".join(a.replace("_", "-").replace("65plus", "65+") for a in r["suggested_ages"])
        text += f"; for {r['audience']}, usually bought by adults aged {ages} (set them as target ages to weigh them)"
    return text + "."
