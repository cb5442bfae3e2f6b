"""Forecast runs as a service: validate, rank, persist. The pages and the CLI call this."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.db import repo
from core.db.database import Database
from core.forecast import CityArrays, ProductInput, evaluate, prepare, rank

STORED_RESULTS = 1000  # results kept per forecast (the best cities in scope); the rest recompute


def forecast_params(product: ProductInput, countries: list[str] | None) -> dict:
    """Everything needed to recompute a forecast exactly (stored with it)."""
    return {
        "product": product.model_dump(mode="json"),
        "countries": sorted(countries or []),
    }


def product_from_params(params: dict) -> ProductInput:
    return ProductInput(**params["product"])


def run_forecast(
    db: Database,
    ca: CityArrays,
    product: ProductInput,
    countries: list[str] | None = None,
    *,
    user_id: str | None = None,
    store_top: int = STORED_RESULTS,
    on_step: Callable[[str], None] | None = None,
) -> str:
    """Rank every city in scope, store the best ``store_top`` and return the forecast id."""
    step = on_step or (lambda _msg: None)
    step("Preparing buyers, spend, fulfilment and competition for every city")
    prep = prepare(ca, product)
    step("Scoring and ranking cities")
    table = rank(evaluate(prep), countries=countries, top=store_top)
    step(f"Saving the best {len(table):,} cities")
    forecast_id = repo.save_forecast(
        db,
        user_id=user_id,
        product=product.model_dump(mode="json"),
        params=forecast_params(product, countries),
        table=table,
    )
    return forecast_id


def result_table(record: repo.ForecastRecord, ca: CityArrays) -> pd.DataFrame:
    """A stored ranking with the city name, region, ISO code, position and population joined."""
    f = ca.frame.set_index("city_id")
    res = record.results.copy()
    info = f.loc[res["city_id"], ["name", "admin1", "country_iso2", "lat", "lon", "population"]]
    info = info.rename(columns={"name": "city", "admin1": "region"}).reset_index(drop=True)
    for col in info.columns:
        res[col] = info[col].to_numpy()
    return res
