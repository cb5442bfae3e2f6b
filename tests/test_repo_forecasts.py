"""Persisted forecasts on SQLite and PostgreSQL: save, list, load identical, access, delete."""

from __future__ import annotations

import pandas as pd
import pytest

from core.db import repo
from core.errors import AccessError
from core.forecast import evaluate, prepare, rank, validate_product
from core.services import records
from core.services.forecasts import result_table, run_forecast


def test_run_save_load_identical(any_db, ca) -> None:
    p = validate_product(name="Lamp", category="Home & Garden", price=40, unit_cost=12, ships_from="CN")
    fid = run_forecast(any_db, ca, p, ["BR"], store_top=200)
    record = repo.load_forecast(any_db, fid, None)
    fresh = rank(evaluate(prepare(ca, p)), countries=["BR"], top=200)
    loaded = result_table(record, ca)[fresh.columns]
    pd.testing.assert_frame_equal(loaded, fresh, check_dtype=False, rtol=1e-12)
    assert record.params["countries"] == ["BR"]
    assert any(s.id == fid and s.n_results == 200 for s in repo.list_forecasts(any_db, None))


def test_a_ranking_stored_before_the_shipping_choice_reads_as_seller_paid(sqlite_db, ca) -> None:
    """Rows stored before the buyer / seller freight columns existed (the seller always paid) get them back
    as the seller-paid ranking has them, so Why-this-score and the agents can read any stored forecast."""
    from dataclasses import replace

    p = validate_product(
        name="Lamp",
        category="Home & Garden",
        price=40,
        unit_cost=12,
        ships_from="CN",
        shipping_paid_by="seller",
    )
    record = repo.load_forecast(sqlite_db, run_forecast(sqlite_db, ca, p, ["BR"], store_top=20), None)
    old = replace(
        record,
        results=record.results.drop(columns=["buyer_freight_usd", "seller_freight_usd"]),
        params={
            **record.params,
            "product": {k: v for k, v in record.params["product"].items() if k != "shipping_paid_by"},
        },
    )
    fresh = rank(evaluate(prepare(ca, p)), countries=["BR"], top=20)
    pd.testing.assert_frame_equal(result_table(old, ca)[fresh.columns], fresh, check_dtype=False, rtol=1e-12)


def test_other_users_cannot_open_or_delete(any_db, ca) -> None:
    p = validate_product(name="Mug", category="Home & Garden", price=15, unit_cost=4)
    fid = run_forecast(any_db, ca, p, ["DE"], store_top=5)
    records.check_forecast_owner(any_db, fid, None)  # the owner's: no error, results not read
    for forecast_id, owner in ((fid, "someone-else"), ("not-an-id", None), ("0" * 32, None)):
        with pytest.raises(AccessError):
            records.check_forecast_owner(any_db, forecast_id, owner)
    with pytest.raises(AccessError):
        repo.load_forecast(any_db, fid, "someone-else")
    with pytest.raises(AccessError):
        repo.delete_forecast(any_db, fid, "someone-else")
    repo.delete_forecast(any_db, fid, None)
    with pytest.raises(AccessError):
        repo.load_forecast(any_db, fid, None)


def test_forecasts_saved_before_the_shipping_choice_reopen_with_the_seller_paying() -> None:
    """New products default to the buyer paying shipping; a stored forecast without the field was made when
    the seller always paid, and re-opens (and is re-ranked) that way."""
    from core.forecast import validate_product
    from core.services.forecasts import product_from_params

    old = {"name": "Towels", "category": "Home & Garden", "price": 25.0, "unit_cost": 10.0}
    assert validate_product(**old).shipping_paid_by == "buyer"
    assert product_from_params({"product": old}).shipping_paid_by == "seller"
    assert product_from_params({"product": old | {"shipping_paid_by": "buyer"}}).shipping_paid_by == "buyer"


def test_result_terms_round_trip_awkward_values(any_db, ca) -> None:
    """The terms are written as JSON text, one line per city (repo._result_rows): values holding a newline, a
    line separator, quotes or accents, NaN and infinity read back as they were (non-finite as missing)."""
    import numpy as np

    p = validate_product(name="Lamp", category="Home & Garden", price=40, unit_cost=12)
    table = rank(evaluate(prepare(ca, p)), countries=["DE"], top=5).reset_index(drop=True)
    odd = ["Köln\nNord", 'a "quoted" name', "line\u2028sep", "tab\there", "back\\slash"]
    table = table.assign(city=odd, note=[np.nan, np.inf, 1.5, -np.inf, 1e-300])
    fid = repo.save_forecast(
        any_db,
        user_id=None,
        product={"name": "Lamp", "category": p.category, "price": 40, "unit_cost": 12},
        params={},
        table=table,
    )
    back = repo.load_forecast(any_db, fid, None).results
    assert back["city"].tolist() == odd
    assert back["note"].iloc[2] == 1.5 and back["note"].iloc[4] == 1e-300
    assert back["note"].iloc[[0, 1, 3]].isna().all()
    assert back["city_id"].tolist() == table["city_id"].tolist()


def test_a_saved_forecast_is_what_loading_it_reads(any_db, ca) -> None:
    """run_forecast_record hands the page the forecast it saved instead of a re-read: the same record, value
    for value, as reading it back (so Results shows the same either way)."""
    import dataclasses

    from core.services.forecasts import run_forecast_record

    p = validate_product(
        name="Down jacket", category="Apparel & Accessories", price=50, unit_cost=18, ships_from="CN"
    )
    saved = run_forecast_record(any_db, ca, p, ["DE", "BR"], store_top=300)
    loaded = records.load_forecast(any_db, saved.id, None)
    pd.testing.assert_frame_equal(saved.results, loaded.results, check_exact=True)
    assert list(saved.results.columns) == list(loaded.results.columns)
    assert saved.product == loaded.product and saved.params == loaded.params
    assert saved.created_at.replace(tzinfo=None) == loaded.created_at.replace(tzinfo=None)
    assert {f.name for f in dataclasses.fields(saved)} == {
        "id",
        "user_id",
        "product",
        "params",
        "created_at",
        "results",
    }
