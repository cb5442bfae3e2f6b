"""GeoNames alternate names of the cities (data/alternate_names.parquet), for matching free text."""

from __future__ import annotations

from functools import cache

import pandas as pd

from core import paths


@cache
def alternate_names() -> pd.DataFrame:
    """city_id, alt_name (folded lower-case ASCII)."""
    return pd.read_parquet(paths.ALT_NAMES_FILE)


@cache
def _index() -> dict[str, tuple[int, ...]]:
    alt = alternate_names()
    return {name: tuple(ids) for name, ids in alt.groupby("alt_name")["city_id"]}


def cities_called(folded_name: str) -> tuple[int, ...]:
    """Ids of the cities that have this (folded) alternate name ("cologne" -> Köln's id)."""
    return _index().get(folded_name, ())
