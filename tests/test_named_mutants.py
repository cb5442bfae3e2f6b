"""Tests that pin the behaviours issue 22's named mutants broke without any test failing (make named-mutants
applies each mutant to a scratch copy and checks that these fail). Each test ties a derived figure to the
rule that makes it, with the constants read from the code."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from core import accounts
from core.db import models
from core.forecast import (
    COMPETITION_SHARE_CUT,
    CROSS_BORDER_DAYS,
    LPI_DAYS_FACTOR,
    LPI_REFERENCE,
    SCORE_DECADES,
    evaluate,
    prepare,
    transit_days,
    validate_product,
)
from core.forecast.engine import BASE_SHARE


def _product(**kw):
    base = {"name": "Bath towel set", "category": "Home & Garden", "price": 25.0, "unit_cost": 10.0}
    return validate_product(**{**base, **kw})


def test_the_price_term_responds_to_what_the_buyer_pays_including_the_parcel(ca) -> None:
    """Buyer pays shipping: between any two cities the demand score's price term differs by
    -e * [log((P + s_i) / ref_i) - log((P + s_j) / ref_j)] in score points (freight included)."""
    ev = evaluate(prepare(ca, _product(shipping_paid_by="buyer", ships_from="Istanbul, TR")))
    c, e = ev.columns, ev.prepared.category.price_elasticity
    span = SCORE_DECADES * np.log(10)
    raw = -e * np.log((ev.price + c["buyer_freight_usd"]) / c["local_reference_price_usd"])
    assert np.ptp(c["buyer_freight_usd"]) > 1.0  # the parcel differs between cities
    i, j = int(np.argmin(c["buyer_freight_usd"])), int(np.argmax(c["buyer_freight_usd"]))
    got = c["demand_term_price"][i] - c["demand_term_price"][j]
    assert got == pytest.approx(100 * (raw[i] - raw[j]) / span, rel=1e-9)


def test_competition_cuts_the_obtainable_share(ca) -> None:
    c = evaluate(prepare(ca, _product())).columns
    expected = BASE_SHARE * (1 - COMPETITION_SHARE_CUT * c["competition_index"] / 100)
    np.testing.assert_allclose(c["obtainable_share"], expected, rtol=1e-12)
    assert np.ptp(c["obtainable_share"]) > 0  # more competition, a smaller share


def test_target_ages_shift_the_age_fit_towards_cities_with_those_ages(ca) -> None:
    plain = prepare(ca, _product()).age_fit
    older = prepare(ca, _product(target_ages=["65plus"])).age_fit
    share_65 = ca.age_shares[:, -1]
    ratio = older / plain
    assert np.ptp(ratio) > 0.05
    assert np.corrcoef(ratio, share_65)[0, 1] > 0.9  # the older the city's adults, the better the fit


def test_delivery_days_are_slower_where_logistics_perform_worse(ca) -> None:
    prep = prepare(ca, _product(ships_from="Istanbul, TR"))
    factor = np.clip(LPI_REFERENCE / ca.logistics, *LPI_DAYS_FACTOR)
    expected = transit_days(prep.distance_km) * factor + prep.cross_border * CROSS_BORDER_DAYS
    np.testing.assert_allclose(prep.delivery_days, expected, rtol=1e-12)
    assert np.ptp(factor) > 0.1


def test_the_market_profilers_demographic_match_is_age_fit_in_points(ca) -> None:
    from agents.context import AgentContext
    from agents.runner import run_agents
    from agents.writers import TemplateWriter

    product = _product()
    out = run_agents(
        AgentContext(ca, TemplateWriter()),
        {"product": product.model_dump(mode="json"), "countries": ["DE"], "depth": "summary", "cities": 5},
    )
    from core.forecast import rank

    table = rank(evaluate(prepare(ca, product)), countries=["DE"], top=5).set_index("rank")
    cities = out["market_profiler"]["cities"]
    assert len(cities) == 5
    for city in cities:
        assert city["city"] == table.loc[city["rank"], "city"]
        assert city["demographic_match"] == pytest.approx(100 * table.loc[city["rank"], "age_fit"], rel=1e-9)


def test_a_deep_report_is_not_marked_paid_without_a_completed_payment(sqlite_db, ca) -> None:
    """The deep report's own checkout handler checks the payment status (defence in depth: the webhook
    router checks it too, and any other caller of the registry gets the same answer)."""
    from core.billing import deep_reports
    from core.services.forecasts import run_forecast

    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:10]}@dr.example", "a-long-password", tier="pro"
    )
    fid = run_forecast(sqlite_db, ca, _product(), ["DE"], user=user, store_top=3)
    with sqlite_db.session() as s:
        row = models.DeepReport(forecast_id=fid, user_id=user.id, report_type="standard")
        s.add(row)
        s.flush()
        rid = row.id
    checkout = {"id": "cs_test_1", "metadata": {"deep_report_id": rid}}
    with sqlite_db.session() as s:
        msg = deep_reports.apply_payment(s, {**checkout, "payment_status": "unpaid"})
    assert "not completed" in msg
    with sqlite_db.session() as s:
        assert s.get(models.DeepReport, rid).status == "pending_payment"
        deep_reports.apply_payment(s, {**checkout, "payment_status": "paid"})
    with sqlite_db.session() as s:
        assert s.get(models.DeepReport, rid).status == "paid"


@pytest.mark.parametrize(("status", "keeps"), [("active", True), ("past_due", True), ("canceled", False)])
def test_a_past_due_subscription_keeps_its_plan_until_stripe_ends_it(sqlite_db, status, keeps) -> None:
    """Stripe retries a failed renewal for days (past_due): the plan stays until the subscription is
    cancelled or unpaid, so one failed card charge does not cut a paying customer off at once."""
    from core.billing.subscriptions import upsert_subscription

    user = accounts.create_user(sqlite_db, f"{uuid.uuid4().hex[:10]}@sub.example", "a-long-password")
    with sqlite_db.session() as s:
        upsert_subscription(s, user.id, "pro", status, f"sub_{uuid.uuid4().hex[:8]}", "cus_1")
    after = accounts.get_user(sqlite_db, user_id=user.id)
    assert after.tier == ("pro" if keeps else "basic")
    assert after.status == status
