"""Forecast runs as a service: validate, rank, persist. The pages and the CLI call this."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from core import telemetry
from core.accounts import UserInfo, check_quota, reserve_forecast
from core.accounts.tiers import check_cities
from core.db import repo
from core.db.database import Database
from core.db.repo import ForecastRecord
from core.forecast import CityArrays, ProductInput, city_info, evaluate, prepare, rank, stored_product
from core.services import records

log = logging.getLogger(__name__)

STORED_RESULTS = 1000  # results kept per forecast (the best cities in scope); the rest recompute


def forecast_params(product: ProductInput, countries: list[str] | None) -> dict:
    """Everything needed to recompute a forecast exactly (stored with it)."""
    return {
        "product": product.model_dump(mode="json"),
        "countries": sorted(countries or []),
    }


def product_from_params(params: dict) -> ProductInput:
    """The product a stored forecast was made for. Forecasts stored before ``shipping_paid_by`` existed
    were made with the seller paying shipping, so they re-open that way."""
    return ProductInput(**stored_product(params["product"]))


def result_limit(user: UserInfo | None, requested: int | None = None) -> int:
    """How many cities a user's results may hold (refuses more than the tier allows)."""
    if user is None:
        return requested or STORED_RESULTS
    allowed = check_cities(user.plan, requested)
    return min(allowed or STORED_RESULTS, STORED_RESULTS)


def run_forecast(*args, **kwargs) -> str:
    """``run_forecast_record`` (same arguments), returning only the forecast id."""
    return run_forecast_record(*args, **kwargs).id


def run_forecast_record(
    db: Database,
    ca: CityArrays,
    product: ProductInput,
    countries: list[str] | None = None,
    *,
    user: UserInfo | None = None,
    store_top: int | None = None,
    on_step: Callable[[str], None] | None = None,
    interface: str = "app",
) -> ForecastRecord:
    """Rank every city in scope, store the best cities and return the stored forecast as
    ``records.load_forecast`` reads it (the page that opens it next does not read back the rows it has just
    written).

    With a user, the tier applies: the monthly quota is counted (atomically; refused when used up)
    and no more cities than the tier allows are stored.
    """
    step = on_step or (lambda _msg: None)
    store_top = result_limit(user, store_top)
    if user is not None:
        check_quota(db, user)  # refuse early; the charge itself is made with the save, below
    with telemetry.span("forecast.run", category=product.category, interface=interface):
        step("Preparing buyers, spend, fulfilment and competition for every city")
        with telemetry.timed(telemetry.ENGINE_SECONDS, stage="prepare"):
            prep = prepare(ca, product)
        step("Scoring and ranking cities")
        with telemetry.timed(telemetry.ENGINE_SECONDS, stage="evaluate_rank"):
            table = rank(evaluate(prep), countries=countries, top=store_top)
        step(f"Saving the best {len(table):,} cities")
        record = _save(db, product, countries, table, user, step)
    telemetry.FORECASTS.labels(interface=interface).inc()
    return record


def _save(
    db: Database,
    product: ProductInput,
    countries: list[str] | None,
    table,
    user: UserInfo | None,
    step: Callable[[str], None],
) -> ForecastRecord:
    """Store the ranking, charging the quota in the same transaction."""

    def charge(session) -> None:  # in the save's transaction: a run killed before commit costs nothing
        if user is not None:
            used = reserve_forecast(db, user, session=session)
            limit = user.plan.forecasts_per_month
            step(f"Quota: forecast {used} of {limit if limit is not None else 'unlimited'} this month")

    record = repo.save_forecast_record(
        db,
        user_id=user.id if user else None,
        product=product.model_dump(mode="json"),
        params=forecast_params(product, countries),
        table=table,
        before_commit=charge,
    )
    log.info("forecast %s saved for user %s (%d cities)", record.id, user.id if user else "-", len(table))
    return records.as_read(record)


def result_table(record: repo.ForecastRecord, ca: CityArrays) -> pd.DataFrame:
    """A stored ranking with the city name, region, ISO code, position and population joined.

    A city the user added and has since removed (core.forecast.custom) is no longer in their arrays: its
    row is left out, with a log line."""
    res = record.results.copy()
    known = np.isin(res["city_id"].to_numpy(np.int64), ca.city_id)
    if not known.all():
        log.info(
            "forecast %s: %d stored cities are no longer in the user's city data; not shown",
            record.id,
            int((~known).sum()),
        )
        res = res[known].reset_index(drop=True)
    info = city_info(ca, res["city_id"])
    for col in info.columns:
        res[col] = info[col].to_numpy()
    # Forecasts saved before these columns existed: derive what the stored terms allow.
    if "loss_making" not in res and "profit_usd_month" in res:
        res["loss_making"] = res["profit_usd_month"] < 0
    if (
        "buyer_freight_usd" not in res and "shipping_cost_usd" in res
    ):  # saved when the seller always paid shipping
        res["buyer_freight_usd"] = 0.0
        res["seller_freight_usd"] = res["shipping_cost_usd"]
    for col in ("price_above_market", "good_price_low_usd", "good_price_high_usd"):
        if col not in res:
            res[col] = False if col == "price_above_market" else np.nan
    for col in ("good_price_low_usd", "good_price_high_usd"):  # stored as JSON null where undefined
        res[col] = pd.to_numeric(res[col], errors="coerce").astype(float)
    return res
