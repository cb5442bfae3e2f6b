"""The PDF report (fpdf2): cover with the parameters and read-first notes, top cities, map, charts, extra
tables, agent sections, methodology and sources. Plan limits are checked before rendering (core.services.exports)."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core import __version__, paths
from core.forecast import PRICE_CLIP, season, stored_product
from core.forecast.categories import AGE_LABELS
from core.render import charts

log = logging.getLogger(__name__)


def map_png(table: pd.DataFrame, width_in: float = 9.0) -> bytes:
    """A static map of the cities (sized by units, coloured by opportunity) on the country shapes."""
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    world = gpd.read_file(paths.BASEMAP_FILE)
    fig, ax = plt.subplots(figsize=(width_in, width_in * 0.5), dpi=150)
    world.plot(ax=ax, color="#E4E9F0", edgecolor="#A0AAB9", linewidth=0.3)
    if len(table):
        units = table["expected_units_month"].to_numpy()
        size = 10 + 200 * (units / max(units.max(), 1e-9)) ** 0.5
        opp = table["opportunity_score"].to_numpy(float)
        lo, hi = (
            float(opp.min()),
            float(opp.max()),
        )  # the shown cities' range, as on screen (0-100 is one colour)
        sc = ax.scatter(
            table["lon"],
            table["lat"],
            s=size,
            c=opp,
            cmap="YlGnBu",
            vmin=lo,
            vmax=hi if hi > lo else lo + 1,
            alpha=0.8,
            edgecolors="white",
            linewidths=0.3,
        )
        fig.colorbar(
            sc, ax=ax, fraction=0.025, pad=0.01, label="Opportunity score (range of the listed cities)"
        )
        lon_pad = max(5.0, (table["lon"].max() - table["lon"].min()) * 0.1)
        lat_pad = max(5.0, (table["lat"].max() - table["lat"].min()) * 0.1)
        ax.set_xlim(max(-180, table["lon"].min() - lon_pad), min(180, table["lon"].max() + lon_pad))
        ax.set_ylim(max(-90, table["lat"].min() - lat_pad), min(90, table["lat"].max() + lat_pad))
    ax.set_axis_off()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@dataclass(frozen=True)
class Branding:
    """White-label settings (core.branding): shown instead of ours on the cover, headings and footer."""

    company_name: str
    colour: str = "#1F4E79"  # "#RRGGBB"
    logo: bytes | None = None
    logo_type: str | None = None  # png | svg

    @property
    def rgb(self) -> tuple[int, int, int]:
        h = self.colour.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass
class ReportInput:
    product: dict
    table: pd.DataFrame  # the ranking exactly as shown (already limited to what the user may see)
    charts: list[charts.Chart]
    what_if: dict = field(default_factory=dict)  # price, unit cost, weights used on screen
    depth: str = "full"  # summary | detailed | full
    agent_sections: list[tuple[str, str]] = field(default_factory=list)  # (title, text)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    title: str = "Market forecast"
    row_limit: int | None = None  # cities listed in the table (None: 10 / 50 / 100 by depth)
    extra_tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (title, note, table)
    branding: Branding | None = None
    notes: list[str] = field(default_factory=list)  # flags and anchors the reader must see (cover page)


TABLE_COLUMNS = [
    ("rank", "#", 8, "{:.0f}"),
    ("city", "City", 38, "{}"),
    ("country_iso2", "CC", 10, "{}"),
    ("opportunity_score", "Opport.", 17, "{:.1f}"),
    ("demand_score", "Demand", 17, "{:.1f}"),
    ("competition_index", "Compet.", 17, "{:.1f}"),
    ("profitability_score", "Profit.", 17, "{:.1f}"),
    ("expected_units_month", "Units/mo", 20, "{:,.1f}"),
    ("expected_revenue_usd_month", "Revenue $/mo", 26, "{:,.0f}"),
    ("recommended_price_usd", "Rec. price $", 22, "{:,.2f}"),
]

METHOD_SUMMARY = (
    "Online buyers (adults x Global Findex online-purchase share, adjusted to regional income) x category "
    "spend per buyer (scaled by regional income ^ income elasticity, converted at the local price level) x "
    "age fit gives each city's monthly market. A constant-elasticity price response around a local reference "
    "price, a delivery-time factor from the ships-from distance and a competition-dependent obtainable share "
    "give expected units; low/high are the 10th/90th percentiles. The recommended price is the profit optimum "
    "(e c / (1 - fees) + s) / (e - 1), with s the parcel when the buyer pays shipping (the default; s = 0 and "
    f"the Lerner markup when the seller pays), clipped to {PRICE_CLIP[0]:.2f}-{PRICE_CLIP[1]:.2f}x the local price anchor (the "
    "category's typical price, or the product's own price where it is twice or half that or further; a cost "
    "floor above the band is flagged). Scores are 0-100 and decompose "
    "into named terms. Proxies and assumptions: income stands in for household spending; the competition "
    "index is a proxy (e-commerce maturity, merchant density, market depth); category spend, elasticities, "
    "shipping and duty rates are documented assumptions; absolute volumes rest on one assumed share and "
    "should be calibrated with your own sales. Full method: docs/methodology.md."
)

SOURCES = (
    "GeoNames cities15000 (CC BY 4.0); World Bank WDI and ITU internet users (CC BY 4.0); World Bank Global "
    "Findex 2021 (CC BY 4.0); Eurostat isoc_ec_ib20 (CC BY 4.0); Global Data Lab SHDI 5.0 regional GNI "
    "(Smits & Permanyer 2019); U.S. BEA SAINC1 2024 (public domain); UN World Population Prospects 2022 "
    "(CC BY 3.0 IGO); Natural Earth 1:110m countries (public domain). Details: data/SOURCES.md."
)


DEFAULT_COLOUR = (31, 78, 121)


class _Pdf(FPDF):
    footer_text = f"AI-Commerce Intelligence Platform v{__version__}"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=7)
        self.set_text_color(120, 120, 120)
        self.cell(0, 8, f"{self.footer_text} · page {self.page_no()}", align="C")


def _heading(pdf: _Pdf, text: str, rgb: tuple[int, int, int], room: float = 40.0) -> None:
    """A section heading that starts a new page only when less than ``room`` mm is left on this one."""
    if pdf.get_y() > pdf.h - pdf.b_margin - room:
        pdf.add_page()
    else:
        pdf.ln(3)
    pdf.set_font("DejaVu", "B", 14)
    pdf.set_text_color(*rgb)
    pdf.cell(0, 9, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _paragraph(pdf: _Pdf, text: str, size: float = 9) -> None:
    pdf.set_font("DejaVu", size=size)
    pdf.multi_cell(0, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _logo(pdf: _Pdf, report: ReportInput) -> None:
    b = report.branding
    if b is None:
        pdf.image(str(paths.ASSETS_DIR / "logo.png"), x=15, y=15, w=70)
    elif b.logo:
        pdf.image(io.BytesIO(b.logo), x=15, y=15, h=25)


def _generic_table(pdf: _Pdf, table: pd.DataFrame) -> None:
    """A table whose headers wrap inside their column (fpdf2's table layout), never running together."""
    from fpdf.fonts import FontFace

    pdf.set_font("DejaVu", size=7)
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    with pdf.table(
        line_height=4,
        padding=1,
        first_row_as_headings=True,
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD"),
        text_align="LEFT",
    ) as t:
        head = t.row()
        for c in table.columns:
            head.cell(str(c))
        for rec in table.itertuples(index=False):
            row = t.row()
            for v, is_num in zip(rec, numeric, strict=True):
                text = f"{v:,.2f}" if isinstance(v, float) else str(v)
                row.cell(text, align="RIGHT" if is_num else "LEFT")
    pdf.ln(2)


def _new_pdf(report: ReportInput) -> _Pdf:
    pdf = _Pdf(orientation="P", unit="mm", format="A4")
    if report.branding:
        pdf.footer_text = report.branding.company_name
    fonts = paths.ASSETS_DIR / "fonts"
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    return pdf


def cover_lines(report: ReportInput) -> list[str]:
    """The cover's parameter lines: who prepared it, the product as forecast, scope, depth and version."""
    p = report.product
    stored = stored_product(p)
    scope = ", ".join(p.get("countries") or []) or "world"
    price = report.what_if.get("price", p["price"])
    cost = report.what_if.get("unit_cost", p["unit_cost"])
    ages = ", ".join(AGE_LABELS.get(a, a) for a in p.get("target_ages") or []) or "all adults"
    return [
        *([f"Prepared by {report.branding.company_name}"] if report.branding else []),
        f"Category: {p['category']}",
        f"Price: ${price:,.2f} · unit cost ${cost:,.2f}",
        f"Target ages: {ages}",
        f"Ships from: {p.get('ships_from') or 'local fulfilment'} · shipping paid by the "
        f"{stored['shipping_paid_by']} · scope: {scope}",
        season.describe(stored["climate"], stored["season_months"], p.get("launch_month")),
        *([f"Product type (Google product taxonomy): {p['product_type']}"] if p.get("product_type") else []),
        f"Cities in this report: {len(report.table):,} · report depth: {report.depth}",
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC · app version {__version__}",
    ]


def _cover(pdf: _Pdf, report: ReportInput, rgb: tuple[int, int, int]) -> None:
    pdf.add_page()
    _logo(pdf, report)
    pdf.set_y(60)
    pdf.set_font("DejaVu", "B", 22)
    pdf.set_text_color(*rgb)
    title = f"{report.title}: {report.product['name']}"
    pdf.multi_cell(0, 11, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", size=11)
    pdf.ln(4)
    for line in cover_lines(report):
        pdf.multi_cell(0, 7, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if report.product.get("description"):
        pdf.ln(3)
        _paragraph(pdf, report.product["description"], 10)
    if report.notes:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(0, 6, "Read first", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for note in report.notes:
            _paragraph(pdf, note, 9)
    pdf.ln(4)
    pdf.set_text_color(90, 90, 90)
    _paragraph(
        pdf,
        "Numbers come from open data and a documented model; values marked as proxies or assumptions are "
        "explained in the methodology section. Expected units are a prior until calibrated with your sales.",
        8,
    )
    pdf.set_text_color(0, 0, 0)


def _top_cities(pdf: _Pdf, report: ReportInput, rgb: tuple[int, int, int]) -> None:
    pdf.add_page()
    _heading(pdf, "Top cities", rgb)
    pdf.set_font("DejaVu", "B", 7)
    for _col, label, w, _fmt in TABLE_COLUMNS:
        pdf.cell(w, 6, label, border="B")
    pdf.ln()
    pdf.set_font("DejaVu", size=7)
    limit = report.row_limit or {"summary": 10, "detailed": 50}.get(report.depth, 100)
    for rec in report.table.head(limit).to_dict("records"):
        for col, _label, w, fmt in TABLE_COLUMNS:
            text = fmt.format(rec[col])
            pdf.cell(w, 5, text[:28], align="L" if col in ("city", "country_iso2") else "R")
        pdf.ln()
    if len(report.table) > limit:
        pdf.set_font("DejaVu", size=7)
        more = f"... {len(report.table) - limit:,} more cities in the CSV export."
        pdf.cell(0, 5, more, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _figures(pdf: _Pdf, report: ReportInput, rgb: tuple[int, int, int]) -> None:
    """Map and charts: 180 mm wide, two to a page."""
    _heading(pdf, "Map", rgb, room=110)
    pdf.image(io.BytesIO(map_png(report.table.head(500))), w=180)
    for chart in report.charts:
        png, renderer = charts.to_png(chart)
        log.debug("chart %r rendered with %s", chart.title, renderer)
        if pdf.get_y() > pdf.h - pdf.b_margin - 105:
            pdf.add_page()
        pdf.image(io.BytesIO(png), w=180)


def pdf_bytes(report: ReportInput) -> bytes:
    """The PDF report: cover, product, top cities, map, charts, agent sections, method, sources.

    Sections flow one after another (a heading starts a new page only near the bottom of one). Plan
    limits are checked by the use case before rendering (core.services.exports).
    """
    pdf = _new_pdf(report)
    rgb = report.branding.rgb if report.branding else DEFAULT_COLOUR
    _cover(pdf, report, rgb)
    _top_cities(pdf, report, rgb)
    _figures(pdf, report, rgb)
    for title, note, table in report.extra_tables:
        _heading(pdf, title, rgb)
        if note:
            _paragraph(pdf, note, 8)
        _generic_table(pdf, table)
    for title, text in report.agent_sections:
        _heading(pdf, title, rgb)
        _paragraph(pdf, text)
    _heading(pdf, "Methodology", rgb)
    _paragraph(pdf, METHOD_SUMMARY)
    _heading(pdf, "Data sources", rgb)
    _paragraph(pdf, SOURCES)
    return bytes(pdf.output())
