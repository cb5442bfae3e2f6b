"""Product Analyst math: classify free text into the taxonomy (TF-IDF) and rate the product (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from core.categories import Category, all_categories


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


def market_fit(top_demand_scores: list[float], category_matches: bool) -> Rating:
    """Fit = mean demand score of the top cities, less 15 points if the text suggests another category."""
    base = float(np.mean(top_demand_scores)) if top_demand_scores else 0.0
    reasons = [f"mean demand score of the top cities is {base:.0f}/100"]
    if not category_matches:
        base -= 15
        reasons.append("the description reads like another category: check the category choice")
    return Rating(max(0.0, min(100.0, base)), reasons)


def production_complexity(complexity_1to5: int) -> Rating:
    return Rating(20.0 * complexity_1to5, [f"category complexity {complexity_1to5}/5 (data/manufacturing.csv)"])


def expected_quality(price: float, typical_price: float) -> Rating:
    """Quality buyers expect at this price: the price's position against the category's typical price."""
    ratio = price / typical_price
    score = float(np.clip(50 + 35 * np.log2(ratio), 0, 100))
    tier = "premium" if ratio > 1.5 else "mid-market" if ratio > 0.67 else "value"
    return Rating(score, [f"price is {ratio:.2f}x the category's typical ${typical_price:,.0f}: a {tier} position"])
