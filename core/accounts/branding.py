"""White-label (a Master add-on): the company's name, logo and colour on PDF exports and deep reports.

The add-on is bought like a plan (Stripe Checkout, subscription mode; demo mode activates it at once)
and is active only while the account is on Master. Logos are PNG or SVG, at most 300 kB and
2,000 px a side, and must render: a file fpdf2 cannot draw is refused when uploaded, not when a
report is built.
"""

from __future__ import annotations

import io
import logging
import re

from fpdf import FPDF

from core.accounts import UserInfo
from core.accounts.tiers import WHITE_LABEL_USD
from core.db import models
from core.db.database import Database
from core.errors import InputError, LimitError
from core.render.pdf import Branding

log = logging.getLogger(__name__)

ADDON_PRICE_USD = WHITE_LABEL_USD
MAX_LOGO_BYTES = 300 * 1024
MAX_LOGO_PX = 2000
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def require_master(user: UserInfo) -> None:
    """LimitError unless the user's plan offers the white-label add-on (data/tiers.csv: Master)."""
    if not user.plan.white_label:
        raise LimitError(
            f"White-label reports are an add-on of the Master plan (${ADDON_PRICE_USD}/month); "
            f"you are on {user.plan.label}."
        )


def logo_type(data: bytes) -> str:
    """'png' or 'svg' for a logo that is small enough and renders; InputError otherwise."""
    if len(data) > MAX_LOGO_BYTES:
        raise InputError(
            f"the logo is {len(data) / 1024:,.0f} kB; use one of at most {MAX_LOGO_BYTES // 1024} kB",
            field="logo",
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if not (0 < width <= MAX_LOGO_PX and 0 < height <= MAX_LOGO_PX):
            raise InputError(
                f"the logo is {width}x{height} px; use at most {MAX_LOGO_PX} px a side", field="logo"
            )
    elif b"<svg" in data[:2048].lower():
        kind = "svg"
        if b"<!entity" in data.lower() or b"<!doctype" in data.lower():
            raise InputError(
                "SVG logos may not declare a DOCTYPE or entities; export a plain SVG", field="logo"
            )
    else:
        raise InputError("the logo must be a PNG or an SVG file", field="logo")
    try:  # it must draw: fpdf2 is what renders it in every report
        pdf = FPDF()
        pdf.add_page()
        pdf.image(io.BytesIO(data), x=10, y=10, h=20)
    except Exception as exc:  # fpdf2/Pillow raise many types for a broken image
        log.info("logo refused: %s", type(exc).__name__)
        raise InputError(
            "the logo file could not be read as an image; export it again as PNG or SVG", field="logo"
        ) from exc
    return kind


def get(db: Database, user_id: str) -> models.Branding | None:
    with db.session() as s:
        return s.get(models.Branding, user_id)


def for_reports(db: Database, user: UserInfo | None) -> Branding | None:
    """The branding to print, or None (ours): only an active add-on with a company name, on Master."""
    if user is None or not user.plan.white_label:
        return None
    row = get(db, user.id)
    if row is None or not row.active or not row.company_name:
        return None
    return Branding(row.company_name, row.colour, row.logo, row.logo_type)


def activate(db: Database, user_id: str, active: bool = True) -> None:
    """Turn the add-on on or off (Stripe confirmation, demo purchase or its cancellation)."""
    with db.session() as s:
        row = s.get(models.Branding, user_id) or models.Branding(
            user_id=user_id, company_name="", colour="#1F4E79"
        )
        row.active = active
        s.add(row)
    log.info("white-label add-on %s for user %s", "activated" if active else "deactivated", user_id)


def save(
    db: Database,
    user: UserInfo,
    company_name: str,
    colour: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> None:
    """Store the settings (the add-on must be active); a new logo is validated first."""
    require_master(user)
    name = " ".join(company_name.split())
    if not 1 <= len(name) <= 120:
        raise InputError("enter the company name to print (1-120 characters)", field="company_name")
    if not COLOUR.match(colour):
        raise InputError("the colour must be written #RRGGBB", field="colour")
    kind = logo_type(logo) if logo else None
    with db.session() as s:
        row = s.get(models.Branding, user.id)
        if row is None or not row.active:
            raise LimitError(
                f"buy the white-label add-on (${ADDON_PRICE_USD}/month) first, on the Account page"
            )
        row.company_name, row.colour = name, colour.upper()
        if kind:
            row.logo, row.logo_type = logo, kind
        elif remove_logo:
            row.logo, row.logo_type = None, None
    log.info(
        "white-label settings saved for user %s (logo %s)",
        user.id,
        kind or ("removed" if remove_logo else "kept"),
    )
