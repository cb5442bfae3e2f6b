"""CSV and PDF exports: injection-safe, Unicode, same numbers as the screen."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from pypdf import PdfReader

from core import charts, exports, whatif
from core.forecast import evaluate, order, prepare, rank, validate_product


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("São Paulo", "São Paulo"), (3.5, 3.5), (-3.5, -3.5)],
)  # fmt: skip
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
    p = validate_product(name="Łódź İstanbul São Paulo tee", category="166", price=30, unit_cost=8,
                         ships_from="Istanbul, TR")  # fmt: skip
    ev = evaluate(prepare(ca, p))
    return p, ev, rank(ev, countries=["PL", "TR", "BR"], top=60)


def test_pdf_has_the_screen_numbers_and_unicode(report_table) -> None:
    p, ev, table = report_table
    idx = order(ev, top=10)
    curve = whatif.price_curve(ev, idx, whatif.price_grid(30, 35))
    specs = [charts.top_cities_bar(table), charts.price_curve_chart(curve, 30, whatif.best_price(curve), "curve")]
    pdf = exports.pdf_bytes(exports.ReportInput(product=p.model_dump(mode="json") | {"countries": ["PL", "TR", "BR"]},
                                                table=table, charts=specs, depth="detailed"))  # fmt: skip
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
        assert back[col].to_numpy() == pytest.approx(table[col].to_numpy(), abs=0.005)  # the same numbers, rounded
    assert (back["population"] == table["population"].round(0)).all()


def test_csv_metadata_says_what_produced_it() -> None:
    from datetime import UTC, datetime

    meta = exports.csv_metadata({"name": "Tee", "price": 30.0}, {"price": 33.0}, ["DE"], "pro", datetime(2026, 1, 2, tzinfo=UTC))
    assert meta["product"]["name"] == "Tee" and meta["what_if"]["price"] == 33.0 and meta["scope"] == ["DE"]
    assert meta["plan"] == "pro" and meta["generated_at"].startswith("2026-01-02")


def test_pdf_cover_writes_age_bands_as_people_do(report_table) -> None:
    p, _ev, table = report_table
    product = p.model_dump(mode="json") | {"target_ages": ["25_34", "35_44"], "countries": ["PL"]}
    pdf = exports.pdf_bytes(exports.ReportInput(product=product, table=table.head(5), charts=[], depth="summary"))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "25-34, 35-44" in text and "25_34" not in text
