"""Marketplace connectors against local servers speaking Shopify's and Etsy's wire formats: paging,
throttling, token renewal, malformed orders, plan limits, encryption at rest, resumable idempotent
sync, and orders -> match report -> calibration -> a ranking by it."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from sqlalchemy import select

from connectors.base import ConnectorError
from connectors.etsy import EtsyConnector
from connectors.shopify import ShopifyConnector
from core import accounts, calibration
from core.accounts import connections, syncs
from core.db import models
from core.errors import AccessError, ExternalError, LimitError
from core.forecast import evaluate, prepare, validate_product
from core.settings import load_settings
from tests.fake_marketplaces import FakeEtsy, FakeShopify, etsy_receipt, shopify_order

DEMO = load_settings(demo_mode=True, connector_key=None)


def new_user(db, tier: str) -> accounts.UserInfo:
    return accounts.create_user(db, f"{uuid.uuid4().hex[:10]}@shop.example", "a-long-password", tier=tier)


def german_orders(ca, n: int, seed: int = 3) -> list[tuple[str, str, str, int]]:
    """``n`` orders over German cities, more in bigger ones (population^1.1 with noise)."""
    rng = np.random.default_rng(seed)
    de = ca.frame[ca.frame["country_iso2"] == "DE"].nlargest(300, "population")
    w = de["population"].to_numpy() ** 1.1 * rng.lognormal(0, 0.3, len(de))
    pick = rng.choice(len(de), size=n, p=w / w.sum())
    return [(de.iloc[k]["name"], de.iloc[k]["admin1"], "DE", int(rng.integers(1, 4))) for k in pick]


def no_sleep(waits: list[float]):
    return waits.append


def test_shopify_pages_throttle_429_and_bad_orders() -> None:
    orders = [shopify_order(i, "Berlin", "BE", "DE") for i in range(600)]
    orders[10] = shopify_order(10, None, "", "DE")  # digital order: no shipping address
    orders[20]["createdAt"] = "not a date"  # malformed
    with FakeShopify(orders) as fake:
        fake.throttle_next, fake.fail_next = 1, [429]
        waits: list[float] = []
        shop = ShopifyConnector(
            "towels.myshopify.com", "shpat_test", base_url=fake.url, sleep=no_sleep(waits)
        )
        assert shop.test_connection() == "Fake Towels Ltd"
        pages = list(shop.pages(None, None))
    assert [len(p.orders) + p.skipped for p in pages] == [250, 250, 100]
    assert sum(len(p.orders) for p in pages) == 598 and sum(p.skipped for p in pages) == 2
    assert pages[-1].next_cursor is None and pages[0].next_cursor == "250"
    # 429: waited Retry-After (1 s); THROTTLED: (cost 252 - available 52) / restore 100 = 2 s
    assert waits == [1.0, 2.0]
    with FakeShopify(orders) as fake, pytest.raises(ConnectorError, match="refused the access token"):
        ShopifyConnector("towels.myshopify.com", "wrong", base_url=fake.url).test_connection()


def test_etsy_renews_an_expired_token_and_pages_by_offset() -> None:
    receipts = [etsy_receipt(i, "Austin", "TX", "US", qty=2) for i in range(250)]
    receipts[5]["country_iso"] = None
    with FakeEtsy(receipts) as fake:
        etsy = EtsyConnector(
            "keystring-1",
            "12345678",
            "expired-token",
            "refresh-1",
            base_url=fake.url,
            token_url=f"{fake.url}/v3/public/oauth/token",
            sleep=no_sleep([]),
        )
        assert etsy.test_connection() == "FakeTowelShop"
        pages = list(etsy.pages(None, None))
        assert fake.refreshes == 1 and etsy.credentials()["access_token"] == "renewed-1"
    assert [p.next_cursor for p in pages] == ["100", "200", None]
    got = [o for p in pages for o in p.orders]
    assert len(got) == 249 and got[0].quantity == 2 and got[0].amount == 50.0 and got[0].region == "TX"
    # nothing personal is carried: the Order has no name or street fields
    assert not {"name", "first_line"} & set(vars(got[0]))


def test_connections_per_plan_encrypted_and_revocable(sqlite_db) -> None:
    pro = new_user(sqlite_db, "pro")
    creds = {"shop": "a.myshopify.com", "access_token": "shpat_secret_value"}
    for i in range(3):
        connections.add(sqlite_db, DEMO, pro, "shopify", creds, name=f"shop {i}")
    with pytest.raises(LimitError, match="Pro plan includes 3 marketplace connections"):
        connections.add(sqlite_db, DEMO, pro, "shopify", creds)
    basic = new_user(sqlite_db, "basic")
    connections.add(sqlite_db, DEMO, basic, "shopify", creds)
    with pytest.raises(LimitError, match="1 marketplace connection;"):
        connections.add(
            sqlite_db,
            DEMO,
            basic,
            "etsy",
            {"keystring": "k", "shop_id": "1", "access_token": "a", "refresh_token": "r"},
        )
    with sqlite_db.session() as s:
        rows = s.scalars(select(models.Connection).where(models.Connection.user_id == pro.id)).all()
        assert all(b"shpat_secret_value" not in r.credentials for r in rows)  # encrypted at rest
        first = rows[0].id
    assert connections.credentials(sqlite_db, DEMO, first, pro.id)[1] == creds
    with pytest.raises(AccessError, match="CONNECTOR_KEY"):  # outside demo mode, no key: nothing stored
        connections.add(
            sqlite_db,
            load_settings(demo_mode=False, connector_key=None),
            new_user(sqlite_db, "master"),
            "shopify",
            creds,
        )
    connections.revoke(sqlite_db, pro.id, first)
    with pytest.raises(AccessError, match="removed"):
        connections.credentials(sqlite_db, DEMO, first, pro.id)
    connections.add(sqlite_db, DEMO, pro, "shopify", creds)  # a revoked connection frees its place
    with pytest.raises(AccessError):
        connections.credentials(sqlite_db, DEMO, first, basic.id)  # not someone else's


def test_ten_thousand_orders_resume_after_an_outage_without_duplicates(sqlite_db, ca) -> None:
    rows = german_orders(ca, 10_000)
    orders = [shopify_order(i, c, r, k, q) for i, (c, r, k, q) in enumerate(rows)]
    user = new_user(sqlite_db, "pro")
    with FakeShopify(orders) as fake:
        info = connections.add(
            sqlite_db, DEMO, user, "shopify", {"shop": "t.myshopify.com", "access_token": "shpat_test"}
        )
        shop = ShopifyConnector("t.myshopify.com", "shpat_test", base_url=fake.url, sleep=no_sleep([]))
        progress: list[int] = []
        original_pages = shop.pages

        def outage_after_15_pages(since, cursor):  # the server goes down mid-import (20 x 500)
            for n, page in enumerate(original_pages(since, cursor)):
                yield page
                if n == 14:
                    fake.fail_next = [500] * 20

        shop.pages = outage_after_15_pages
        t0 = time.perf_counter()
        with pytest.raises(
            ExternalError, match="kept answering 500"
        ):  # the connector's error, in core's terms
            syncs.sync(
                sqlite_db, DEMO, info.id, shop, user.id, on_progress=lambda total, _n: progress.append(total)
            )
        assert progress[-1] == 15 * 250  # every committed page is kept
        assert connections.list_for(sqlite_db, user.id)[0].status == "error"
        fake.fail_next = []
        shop = ShopifyConnector("t.myshopify.com", "shpat_test", base_url=fake.url, sleep=no_sleep([]))
        done = syncs.sync(sqlite_db, DEMO, info.id, shop, user.id)  # a restart resumes from the cursor
        seconds = time.perf_counter() - t0
        again = syncs.sync(sqlite_db, DEMO, info.id, shop, user.id)  # nothing new: nothing added
    assert done.orders == again.orders == 10_000 and done.status == "ok"
    with sqlite_db.session() as s:
        assert s.query(models.ImportedOrder).filter_by(connection_id=info.id).count() == 10_000
    print(f"10,000 orders imported in {seconds:.1f} s (with a 15-page outage and resume)")

    # Orders -> the CSV path's matcher and report -> calibration -> a ranking by it
    sales = syncs.sales(sqlite_db, user.id, [info.id], "units")
    assert sales["units"].sum() == sum(q for *_x, q in rows)
    product = validate_product(name="Towels", category="Home & Garden", price=25, unit_cost=10)
    result = calibration.calibrate(sales, "units", evaluate(prepare(ca, product)), ["DE"])
    assert result.report.matched_rows == len(sales) and not result.report.unmatched
    assert set(sales["period"]) == {o["createdAt"][:7] for o in orders}  # per month, as the orders were dated
    assert result.cv.spearman > result.cv.baseline_spearman - 0.05
    top = result.predictions.head(5)["city"].tolist()
    assert "Berlin" in top


def test_pro_user_connects_shopify_and_etsy_syncs_and_calibrates_in_the_app(
    sqlite_db, ca, monkeypatch, tmp_path
) -> None:
    """The Connections page end to end (AppTest, fake marketplaces): connect a Shopify store and an Etsy
    shop, sync as background jobs (the job worker imports, the page shows the job while it waits or runs),
    a fourth connection refused with the plan message, then calibrate from the imported orders on the
    Calibrate page."""
    from core.services import jobs as job_service
    from tests.helpers import login, start_worker, stop, submit_forecast_form

    user = new_user(sqlite_db, "pro")
    rows = german_orders(ca, 2_000)
    shop_orders = [shopify_order(i, c, r, k, q) for i, (c, r, k, q) in enumerate(rows)]
    receipts = [etsy_receipt(i, c, r, k, q) for i, (c, r, k, q) in enumerate(german_orders(ca, 300, seed=5))]
    with FakeShopify(shop_orders) as shopify, FakeEtsy(receipts) as etsy:
        monkeypatch.setenv("SHOPIFY_API_BASE", shopify.url)
        monkeypatch.setenv("ETSY_API_BASE", etsy.url)
        from views import _ui

        _ui.get_settings.clear()
        try:
            at = login(user.email, "a-long-password")
            at.switch_page("views/connections.py").run()
            fields = {t.label: t for t in at.text_input}
            fields["Shop domain"].input("towels.myshopify.com")
            fields["Admin API access token"].input("shpat_test")
            next(b for b in at.button if b.label == "Connect").click().run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            at.segmented_control(key="cn_kind").set_value("etsy").run()
            fields = {t.label: t for t in at.text_input}
            fields["App keystring"].input("keystring-1")
            fields["Shop id"].input("12345678")
            fields["Access token"].input("good-token")
            fields["Refresh token"].input("refresh-1")
            next(b for b in at.button if b.label == "Connect").click().run()
            assert not at.error, [e.value for e in at.error]
            mine = connections.list_for(sqlite_db, user.id)
            assert [c.name for c in mine] == ["Fake Towels Ltd", "FakeTowelShop"]
            settings = _ui.get_settings()
            for c in mine:
                at.button(key=f"cn_sync_{c.id}").click().run()
                assert job_service.sync_job(sqlite_db, settings, user.id, c.id) is not None
            assert sum("Queued: the sync starts" in p.proto.text for p in at.get("progress")) == 2
            worker = start_worker(sqlite_db.url, tmp_path / "worker.log")
            try:
                deadline = time.monotonic() + 120
                while any(job_service.sync_job(sqlite_db, settings, user.id, c.id) for c in mine):
                    assert time.monotonic() < deadline, "the sync jobs did not finish"
                    time.sleep(0.2)
            finally:
                stop(worker)
            at.run()
            assert [c.orders for c in connections.list_for(sqlite_db, user.id)] == [2_000, 300]
            assert any("2,000 orders imported" in m.value for m in at.caption)
            # a third is allowed on Pro, a fourth is refused with the plan's message
            connections.add(
                sqlite_db, DEMO, user, "shopify", {"shop": "x.myshopify.com", "access_token": "shpat_test"}
            )
            at.segmented_control(key="cn_kind").set_value("shopify").run()
            fields = {t.label: t for t in at.text_input}
            fields["Shop domain"].input("towels.myshopify.com")
            fields["Admin API access token"].input("shpat_test")
            next(b for b in at.button if b.label == "Connect").click().run()
            assert any("Pro plan includes 3 marketplace connections" in e.value for e in at.error)

            at.switch_page("views/calibrate.py").run()
            at.segmented_control(key="cal_source").set_value("Marketplace connections").run()
            at.multiselect(key="cal_connections").set_value([c.id for c in mine])
            next(b for b in at.button if b.label == "Calibrate").click().run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            assert "calibration_id" in at.session_state
            assert any("rows matched" in m.value for m in at.markdown)  # the match report
            # ... and a forecast ranked by that calibration
            at.switch_page("views/new_forecast.py").run()
            submit_forecast_form(at, "Towels", "Home & Garden", 25.0, 10.0, ["DE"])
            assert at.title[0].value == "Results"
            at.session_state["rs_view"] = "Ranking"
            at.switch_page("views/results.py").run()  # AppTest reruns the page it last switched to
            assert at.title[0].value == "Results", (
                [t.value for t in at.title],
                [e.value for e in at.error],
                [w.value for w in at.warning],
            )
            at.toggle(key="rs_calibrated").set_value(True).run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            ranked = at.dataframe[0].value
            assert "calibrated_units_month" in ranked.columns and ranked["calibrated_units_month"].iloc[0] > 0
            assert ranked["calibrated_units_month"].head(20).is_monotonic_decreasing
        finally:
            _ui.get_settings.clear()


def test_amazon_lwa_token_nexttoken_pages_rate_limit_and_expiry(sqlite_db) -> None:
    from connectors.amazon import AmazonConnector
    from tests.fake_marketplaces import FakeAmazon, amazon_order

    orders = [amazon_order(i, "München", "Bayern", "DE", qty=1 + i % 3) for i in range(250)]
    orders[3] = amazon_order(3, "Köln", "NRW", "DE", status="Canceled")  # not a sale
    orders[4] = amazon_order(4, None, "", "DE")  # no shipping address (e.g. a digital order)
    with FakeAmazon(orders) as fake:
        waits: list[float] = []
        amz = AmazonConnector(
            "amzn1.application-oa2-client.x",
            "secret-x",
            "Atzr|refresh",
            "A1PA6795UKMFR9",
            base_url=fake.url,
            token_url=f"{fake.url}/auth/o2/token",
            sleep=no_sleep(waits),
        )
        assert amz.test_connection() == "Amazon Amazon.de"
        fake.fail_next = [429]  # the operation's rate limit
        first = next(amz.pages(None, None))
        fake.expired.add(amz.access_token)  # an hour later: the LWA token has expired
        rest = list(amz.pages(None, first.next_cursor))
    pages = [first, *rest]
    assert [p.next_cursor for p in pages] == ["page-100", "page-200", None]
    got = [o for p in pages for o in p.orders]
    assert len(got) == 248 and sum(p.skipped for p in pages) == 2
    assert got[0].city == "München" and got[0].region == "Bayern" and got[0].amount == 25.0
    assert waits == [1.0] and len(fake.issued) == 2  # waited Retry-After; renewed the token once
    with FakeAmazon(orders) as fake, pytest.raises(ConnectorError, match="refused the request"):
        AmazonConnector(
            "amzn1.application-oa2-client.x",
            "wrong",
            "Atzr|refresh",
            "A1PA6795UKMFR9",
            base_url=fake.url,
            token_url=f"{fake.url}/auth/o2/token",
        ).test_connection()
    # through the stored-connection path: credentials encrypted, synced, sales by city
    user = new_user(sqlite_db, "master")
    with FakeAmazon(orders) as fake:
        settings = load_settings(demo_mode=True, connector_key=None, amazon_api_base=fake.url)
        info = connections.add(
            sqlite_db,
            settings,
            user,
            "amazon",
            {
                "client_id": "amzn1.application-oa2-client.x",
                "client_secret": "secret-x",
                "refresh_token": "Atzr|refresh",
                "marketplace_ids": "A1PA6795UKMFR9",
                "region": "eu",
            },
            test=syncs.test_credentials(settings),
        )
        done = syncs.sync_stored(sqlite_db, settings, info.id, user.id)
    assert done.orders == 248 and done.name == "Amazon Amazon.de"
    assert syncs.sales(sqlite_db, user.id, [info.id], "orders")["orders"].sum() == 248


@pytest.mark.parametrize("kind", ["shopify", "etsy"])
def test_a_second_sync_imports_only_new_orders(sqlite_db, kind: str) -> None:
    user = new_user(sqlite_db, "master")
    if kind == "shopify":
        server = FakeShopify([shopify_order(i, "Berlin", "BE", "DE") for i in range(300)])
        creds = {"shop": "t.myshopify.com", "access_token": "shpat_test"}
    else:
        server = FakeEtsy([etsy_receipt(i, "Austin", "TX", "US") for i in range(300)])
        creds = {
            "keystring": "keystring-1",
            "shop_id": "12345678",
            "access_token": "good-token",
            "refresh_token": "refresh-1",
        }
    with server as fake:
        settings = load_settings(
            demo_mode=True, connector_key=None, shopify_api_base=fake.url, etsy_api_base=fake.url
        )
        info = connections.add(sqlite_db, settings, user, kind, creds)
        assert syncs.sync_stored(sqlite_db, settings, info.id, user.id).orders == 300
        with sqlite_db.session() as s:
            row = s.get(models.Connection, info.id)
            assert row.cursor is None and row.since is not None  # finished: next time, since the newest order
        if kind == "shopify":
            fake.orders += [shopify_order(i, "Hamburg", "HH", "DE") for i in range(300, 340)]
        else:
            fake.receipts += [etsy_receipt(i, "Dallas", "TX", "US") for i in range(300, 340)]
        asked = len(fake.requests)
        assert syncs.sync_stored(sqlite_db, settings, info.id, user.id).orders == 340
        assert len(fake.requests) - asked <= 3  # a page or two, not the whole history again


@pytest.mark.parametrize(
    "shop",
    [
        "127.0.0.1:8628",
        "localhost",
        "evil.com",
        "shop.myshopify.com.evil.com",
        "my shop.myshopify.com",
        "",
        "a/b.myshopify.com",
    ],
)
def test_shopify_takes_only_myshopify_domains(shop: str) -> None:
    """Issue 24 item 7: a typed host cannot send the server to a local port or another site."""
    with pytest.raises(ConnectorError, match=r"myshopify\.com"):
        ShopifyConnector(shop, "shpat_test")
    assert ShopifyConnector("https://My-Shop.myshopify.com/", "shpat_test").shop == "my-shop.myshopify.com"


def test_a_credential_check_is_time_bounded_and_says_what_to_fix(sqlite_db, monkeypatch) -> None:
    """Issue 25.10: a shop that does not answer is reported within CHECK_TIMEOUT_S (one attempt, no retry
    back-off) in words a person can act on; empty fields are named as the form names them."""
    import socket
    import threading

    from connectors import base

    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@example.com", "a-long-password", tier="pro"
    )
    with pytest.raises(
        Exception, match="Fill in App keystring, Shop id, Access token, Refresh token to connect Etsy"
    ):
        connections.add(sqlite_db, DEMO, user, "etsy", {"keystring": "", "shop_id": " "})
    # a server that accepts the connection and never answers
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held: list = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    monkeypatch.setattr(base, "CHECK_TIMEOUT_S", 0.5)
    settings = DEMO.model_copy(update={"shopify_api_base": f"http://127.0.0.1:{srv.getsockname()[1]}"})
    t0 = time.perf_counter()
    with pytest.raises(ExternalError, match="did not answer in time"):
        connections.add(
            sqlite_db,
            settings,
            user,
            "shopify",
            {"shop": "slow.myshopify.com", "access_token": "t"},
            test=syncs.test_credentials(settings),
        )
    assert time.perf_counter() - t0 < 5  # one bounded attempt, not minutes of retries
    srv.close()
    with socket.socket() as s:  # nobody listens here: what a mistyped domain looks like
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = DEMO.model_copy(update={"shopify_api_base": f"http://127.0.0.1:{port}"})
    with pytest.raises(ExternalError, match="could not reach Shopify: no server answered"):
        connections.add(
            sqlite_db,
            dead,
            user,
            "shopify",
            {"shop": "typo.myshopify.com", "access_token": "t"},
            test=syncs.test_credentials(dead),
        )


def test_the_demo_shop_runs_the_whole_flow_without_credentials(sqlite_db, ca) -> None:
    """Issue 25.10: connect the bundled demo shop (labelled as sample orders), sync it, calibrate on it."""
    from connectors.demo import NAME

    user = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@example.com", "a-long-password", tier="pro"
    )
    info = connections.add(sqlite_db, DEMO, user, "demo", {}, test=syncs.test_credentials(DEMO))
    assert info.name == NAME and "not real sales" in info.name
    synced = syncs.sync_stored(sqlite_db, DEMO, info.id, user.id)
    assert synced.orders == 900 and synced.status == "ok"
    again = syncs.sync_stored(sqlite_db, DEMO, info.id, user.id)  # nothing new, nothing doubled
    assert again.orders == 900
    rows = syncs.sales(sqlite_db, user.id, [info.id], "orders")
    assert rows["orders"].sum() == 900 and set(rows["country"]) <= {"DE", "FR", "GB", "NL", "ES", "IT"}
    result = calibration.calibrate(
        rows,
        "orders",
        evaluate(prepare(ca, validate_product(name="Tee", category="166", price=24, unit_cost=8))),
    )
    assert result.report.matched_rows > 0.95 * len(rows)


def test_connections_page_connects_the_demo_shop(sqlite_db) -> None:
    from tests.helpers import login

    at = login("pro@demo.local")
    at.switch_page("views/connections.py").run()
    at.segmented_control(key="cn_kind").set_value("demo").run()
    assert any("not real sales" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Connect").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Demo shop (sample orders, not real sales)" in m.value for m in at.markdown)


def test_demo_connector_key_lives_apart_from_the_database(sqlite_db, tmp_path, monkeypatch) -> None:
    """Issue 24 item 7: in demo mode the key that encrypts marketplace credentials is a 0600 file under
    var/, not a row of the database it protects; it is created once and reused."""
    import stat

    from core import paths
    from core.db import repo

    monkeypatch.setattr(paths, "VAR_DIR", tmp_path)
    first = connections.demo_key_file()
    assert connections.demo_key_file() == first
    key_file = tmp_path / connections.DEMO_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    db = sqlite_db
    assert repo.get_meta(db, connections.DEMO_KEY_META) is None  # nothing writes the key into the database
    user = accounts.create_user(db, f"{uuid.uuid4().hex[:8]}@example.com", "a-long-password", tier="pro")
    info = connections.add(db, DEMO, user, "shopify", {"shop": "k.myshopify.com", "access_token": "shpat_x"})
    assert repo.get_meta(db, connections.DEMO_KEY_META) is None
    with db.session() as s:
        stored = s.get(models.Connection, info.id).credentials
    from cryptography.fernet import Fernet

    assert b"shpat_x" in Fernet(first).decrypt(stored)
