"""The 21 top-level categories of the Google product taxonomy and their parameters (a data table)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from core import paths
from core.errors import InputError

AGE_BANDS: tuple[str, ...] = ("15_24", "25_34", "35_44", "45_54", "55_64", "65plus")
AGE_LABELS: dict[str, str] = {
    "15_24": "15-24",
    "25_34": "25-34",
    "35_44": "35-44",
    "45_54": "45-54",
    "55_64": "55-64",
    "65plus": "65+",
}


@dataclass(frozen=True)
class Category:
    """One row of data/categories.csv (docs: data/categories_sources.md)."""

    id: int
    name: str
    typical_price_usd: float
    annual_online_spend_per_buyer_usd: float
    income_elasticity: float
    price_elasticity: float
    age_profile: tuple[float, ...]
    weight_class: str
    duty_pct: float
    keywords: tuple[str, ...]


@cache
def all_categories() -> tuple[Category, ...]:
    table = pd.read_csv(paths.CATEGORIES_FILE)
    return tuple(
        Category(
            id=int(r.id),
            name=str(r.name),
            typical_price_usd=float(r.typical_price_usd),
            annual_online_spend_per_buyer_usd=float(r.annual_online_spend_per_buyer_usd),
            income_elasticity=float(r.income_elasticity),
            price_elasticity=float(r.price_elasticity),
            age_profile=tuple(float(getattr(r, f"age_{b}")) for b in AGE_BANDS),
            weight_class=str(r.weight_class),
            duty_pct=float(r.duty_pct),
            keywords=tuple(str(r.keywords).split()),
        )
        for r in table.itertuples(index=False)
    )


def resolve_category(value: str | int) -> Category:
    """Find a category by id ("166") or name ("apparel & accessories"), case-insensitive."""
    key = str(value).strip().lower()
    for cat in all_categories():
        if key == str(cat.id) or key == cat.name.lower():
            return cat
    valid = "; ".join(f"{c.id} {c.name}" for c in all_categories())
    raise InputError(f"unknown category {value!r}; valid categories: {valid}", field="category")


def parse_age_bands(text: str | list[str] | None) -> tuple[str, ...]:
    """Parse "25-34,35-44" (or a list of labels) into band keys; empty means all ages."""
    if not text:
        return ()
    items = text if isinstance(text, list) else [t for t in str(text).split(",")]
    by_label = {v: k for k, v in AGE_LABELS.items()} | {k: k for k in AGE_BANDS}
    by_label["65-"] = by_label["65+"] = "65plus"
    out = []
    for item in items:
        item = item.strip().replace(" ", "")
        if not item:
            continue
        if item not in by_label:
            raise InputError(
                f"unknown age band {item!r}; use some of {', '.join(AGE_LABELS.values())}",
                field="target_ages",
            )
        out.append(by_label[item])
    return tuple(b for b in AGE_BANDS if b in out)
