"""CSV and PDF exports: injection-safe, Unicode, same numbers as the screen."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from core.forecast import evaluate, order, prepare, rank, validate_product, whatif
from core.render import charts, exports
from core.render import pdf as pdf_report


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("São Paulo", "São Paulo"),
        (3.5, 3.5),
        (-3.5, -3.5),
    ],
)
def test_safe_cell(value, safe) -> None:
    assert exports.safe_cell(value) == safe


def test_csv_is_utf8_and_injection_safe() -> None:
    table = pd.DataFrame({"city": ["=cmd|' /C calc'!A0", "Łódź"], "units": [-1.5, 2.0]})
    data = exports.csv_bytes(table)
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["city"].tolist() == ["'=cmd|' /C calc'!A0", "Łódź"]
    assert back["units"].tolist() == [-1.5, 2.0]


@pytest.mark.parametrize("text", ["\r=1", "a\rb", "line\nbreak", "x\r\n=2"])
def test_csv_quotes_every_field_with_a_line_break(text) -> None:
    import csv

    data = exports.csv_bytes(pd.DataFrame({"city": [text, "Köln"], "units": [1, 2]})).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert len(rows) == 3  # header + 2: the break inside the cell does not start a row
    assert rows[1][0].lstrip("'") == text and rows[2] == ["Köln", "2"]


@pytest.fixture(scope="module")
def report_table(ca):
    p = validate_product(
        name="Łódź İstanbul São Paulo tee", category="166", price=30, unit_cost=8, ships_from="Istanbul, TR"
    )
    ev = evaluate(prepare(ca, p))
    return p, ev, rank(ev, countries=["PL", "TR", "BR"], top=60)


def test_pdf_has_the_screen_numbers_and_unicode(report_table) -> None:
    p, ev, table = report_table
    idx = order(ev, top=10)
    curve = whatif.price_curve(ev, idx, whatif.price_grid(30, 35))
    specs = [
        charts.top_cities_bar(table),
        charts.price_curve_chart(curve, 30, whatif.best_price(curve), "curve"),
    ]
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(
            product=p.model_dump(mode="json") | {"countries": ["PL", "TR", "BR"]},
            table=table,
            charts=specs,
            depth="detailed",
        )
    )
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("Łódź", "İstanbul", "São Paulo", "Methodology", "Data sources", "Top cities"):
        assert word in text, word
    first = table.iloc[0]
    assert first["city"] in text
    assert f"{first['expected_revenue_usd_month']:,.0f}" in text
    assert f"{first['recommended_price_usd']:,.2f}" in text
    assert "app version" in text


def test_chart_png_falls_back_to_matplotlib(monkeypatch, report_table) -> None:
    _, _, table = report_table
    monkeypatch.setattr(charts.shutil, "which", lambda _name: None)
    charts.kaleido_available.cache_clear()
    try:
        png, renderer = charts.to_png(charts.top_cities_bar(table))
    finally:
        charts.kaleido_available.cache_clear()
    assert renderer == "matplotlib"
    assert png.startswith(b"\x89PNG")


def test_warm_up_renders() -> None:
    assert charts.warm_up() in {"kaleido", "matplotlib"}


def test_csv_numbers_are_rounded_to_their_precision(report_table) -> None:
    _p, _ev, table = report_table
    back = pd.read_csv(io.BytesIO(exports.csv_bytes(table)), encoding="utf-8-sig")
    for col in ("expected_units_month", "opportunity_score", "recommended_price_usd", "profit_usd_month"):
        assert (back[col].round(2) == back[col]).all(), col
        assert back[col].to_numpy() == pytest.approx(
            table[col].to_numpy(), abs=0.005
        )  # the same numbers, rounded
    assert (back["population"] == table["population"].round(0)).all()
    text = exports.csv_bytes(table).decode("utf-8-sig")
    assert "e-0" not in text and "e+" not in text  # no scientific notation (1.07924e-05)
    assert f",{int(table['population'].iloc[0])}," in text  # whole numbers without ".0"


def test_csv_metadata_says_what_produced_it() -> None:
    from datetime import UTC, datetime

    meta = exports.csv_metadata(
        {"name": "Tee", "price": 30.0}, {"price": 33.0}, ["DE"], "pro", datetime(2026, 1, 2, tzinfo=UTC)
    )
    assert meta["product"]["name"] == "Tee" and meta["what_if"]["price"] == 33.0 and meta["scope"] == ["DE"]
    assert meta["plan"] == "pro" and meta["generated_at"].startswith("2026-01-02")


def test_pdf_cover_writes_age_bands_as_people_do(report_table) -> None:
    p, _ev, table = report_table
    product = p.model_dump(mode="json") | {"target_ages": ["25_34", "35_44"], "countries": ["PL"]}
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(product=product, table=table.head(5), charts=[], depth="summary")
    )
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "25-34, 35-44" in text and "25_34" not in text


def test_pdf_cover_says_who_pays_shipping(report_table) -> None:
    """The cover states the product's shipping payer; a product stored before the choice existed reads as
    seller-paid, as it was computed (core.forecast.stored_product)."""
    p, _ev, table = report_table
    for product, payer in (
        (p.model_dump(mode="json") | {"shipping_paid_by": "buyer"}, "buyer"),
        ({k: v for k, v in p.model_dump(mode="json").items() if k != "shipping_paid_by"}, "seller"),
    ):
        pdf = pdf_report.pdf_bytes(
            pdf_report.ReportInput(product=product, table=table.head(5), charts=[], depth="summary")
        )
        text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
        assert f"shipping paid by the {payer}" in text, text


def test_excel_export_has_the_ranking_and_its_parameters(ca) -> None:
    from datetime import UTC, datetime

    import openpyxl

    from core.forecast import rank_product, validate_product
    from core.render import exports

    product = validate_product(name="=HYPERLINK(1)", category="Home & Garden", price=25, unit_cost=10)
    table = rank_product(ca, product, countries=["DE"], top=10)
    meta = exports.csv_metadata(
        product.model_dump(mode="json"),
        {"price": 25, "unit_cost": 10},
        ["DE"],
        "pro",
        datetime(2026, 1, 2, tzinfo=UTC),
    )
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(table, meta)))
    assert book.sheetnames == ["Ranking", "Parameters"]
    rows = list(book["Ranking"].values)
    header = list(rows[0])
    assert len(rows) == 11 and header == [exports.header(c) for c in table.columns]  # headers people read
    assert "Expected revenue (US$) month" in header and "Country ISO2" in header
    assert [r[header.index("City id")] for r in rows[1:]] == table["city_id"].tolist()
    params = {k: v for k, v in list(book["Parameters"].values)[1:]}
    assert params["product.name"] == "'=HYPERLINK(1)"  # formula injection neutralised on both sheets
    assert params["scope"] == "DE" and params["plan"] == "pro" and params["what_if.price"] == "25"
    from core.accounts.tiers import get_tier
    from core.errors import LimitError
    from core.services import exports as export_service

    with pytest.raises(LimitError):
        export_service.xlsx_for(get_tier("basic"), rank_product(ca, product, countries=["DE"], top=20), meta)


def test_pdf_sections_flow_without_near_blank_pages(report_table) -> None:
    """Agent sections, method and sources follow one another; no page but the last is nearly empty."""
    p, _ev, table = report_table
    sections = [(f"Agent {i}", "A short paragraph of agent text. " * 6) for i in range(5)]
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(
            product=p.model_dump(mode="json"),
            table=table,
            charts=[],
            depth="detailed",
            agent_sections=sections,
        )
    )
    pages = PdfReader(io.BytesIO(pdf)).pages
    texts = [page.extract_text() for page in pages]
    assert len(pages) <= 4, [len(t) for t in texts]  # cover, cities, map (+ sections), method
    for i, (page, text) in enumerate(zip(pages[:-1], texts[:-1], strict=True)):
        assert len(text) > 400 or len(page.images) > 0, (i, text[:200])
    assert texts.index(next(t for t in texts if "Agent 4" in t)) == texts.index(
        next(t for t in texts if "Agent 0" in t)
    )


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_logo_checks() -> None:
    from core.accounts import branding
    from core.errors import InputError

    assert branding.logo_type(_png(120, 40)) == "png"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#c00"/></svg>'
    assert branding.logo_type(svg) == "svg"
    for bad, why in (
        (_png(2400, 40), "2000 px"),
        (b"GIF89a....", "PNG or an SVG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + (100).to_bytes(4, "big") * 2 + b"broken", "could not be read"),
        (b'<!DOCTYPE svg [<!ENTITY x "y">]><svg/>', "DOCTYPE"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (branding.MAX_LOGO_BYTES + 1), "300 kB"),
    ):
        with pytest.raises(InputError, match=why):
            branding.logo_type(bad)


def test_white_label_pdf_carries_the_company_not_us(report_table) -> None:
    p, _ev, table = report_table
    brand = pdf_report.Branding("Acme Analytics", "#AA3300", _png(300, 100), "png")
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(
            product=p.model_dump(mode="json"),
            table=table.head(10),
            charts=[],
            depth="summary",
            branding=brand,
        )
    )
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Prepared by Acme Analytics" in text and "Acme Analytics · page 1" in text
    assert "AI-Commerce Intelligence Platform v" not in text
    assert len(reader.pages[0].images) == 1  # their logo instead of ours


def test_white_label_only_for_an_active_master_add_on(sqlite_db) -> None:
    import uuid

    from core import accounts
    from core.accounts import branding
    from core.errors import LimitError

    pro = accounts.create_user(sqlite_db, f"{uuid.uuid4().hex[:8]}@wl.example", "a-long-password", tier="pro")
    with pytest.raises(LimitError, match="Master"):
        branding.save(sqlite_db, pro, "Acme", "#112233")
    master = accounts.create_user(
        sqlite_db, f"{uuid.uuid4().hex[:8]}@wl.example", "a-long-password", tier="master"
    )
    with pytest.raises(LimitError, match="add-on"):
        branding.save(sqlite_db, master, "Acme", "#112233")  # not bought yet
    branding.activate(sqlite_db, master.id)
    branding.save(sqlite_db, master, "  Acme   Ltd ", "#112233", _png(60, 20))
    got = branding.for_reports(sqlite_db, master)
    assert (got.company_name, got.colour, got.logo_type) == ("Acme Ltd", "#112233", "png")
    accounts.set_tier(sqlite_db, master.email, "pro")  # downgraded: our branding again
    assert branding.for_reports(sqlite_db, accounts.get_user(sqlite_db, user_id=master.id)) is None


def test_a_loss_making_forecasts_pdf_says_so_first(ca) -> None:
    """Issue 25.14: the cover of a forecast that loses money in some cities flags it with the loss, and
    states the price anchor of the recommended prices (the Results page's own sentence)."""
    from core.forecast import ScoreWeights
    from core.render import reports

    p = validate_product(name="Tee", category="166", price=30, unit_cost=27, shipping_paid_by="seller")
    prep = prepare(ca, p)
    table = rank(evaluate(prep), countries=["PL", "TR", "BR"], top=60)
    lost = int(table["loss_making"].sum())
    assert lost > 0
    report = reports.ranking_report(
        prep, table, {}, price=30, cost=27, weights=ScoreWeights(), depth="summary", scope=["PL", "TR", "BR"]
    )
    cover = " ".join(PdfReader(io.BytesIO(pdf_report.pdf_bytes(report))).pages[0].extract_text().split())
    assert f"LOSS: {lost:,} of the 60 cities" in cover
    assert " ".join(whatif.price_anchor_note(prep).split()[:6]) in cover
    fine = reports.report_notes(
        prepare(ca, p.model_copy(update={"unit_cost": 5.0})),
        rank(evaluate(prepare(ca, p.model_copy(update={"unit_cost": 5.0}))), top=60),
    )
    assert not any(n.startswith("LOSS") for n in fine)


def test_deep_report_tables_keep_their_headers_apart(ca) -> None:
    """Issue 25.14: a sensitivity table's long headers wrap inside their columns instead of running into
    each other, and the cover title is not justified into gaps."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "City": ["Berlin", "Köln"],
            "Profit at 90% of price": [1234.5, 99.0],
            "Profit at 100% of price": [1300.0, 101.0],
            "Best of these prices": [33.0, 30.0],
        }
    )
    p = validate_product(name="Tee", category="166", price=30, unit_cost=8)
    pdf = pdf_report.pdf_bytes(
        pdf_report.ReportInput(
            product=p.model_dump(mode="json"),
            table=rank(evaluate(prepare(ca, p)), top=5),
            charts=[],
            extra_tables=[("Sensitivity", "", table)],
        )
    )
    text = " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    for word in ("Profit at 90%", "Best of these", "1,234.50", "Köln"):
        assert word in text, word


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_plain_numbers_are_numpys_positional_shortest_digits(v) -> None:
    """The CSV's fast number writer (repr in C) writes what numpy's positional writer writes."""
    expected = "" if v != v else np.format_float_positional(v, trim="-")
    assert exports.plain_number(v) == expected
