"""What the product is, read by the LLM when one is configured (issue 23), checked against the same schema
as the offline reading (core.forecast.understanding) and falling back to it.

The LLM proposes climate affinity, calendar season, product type, gender and audience; a product type
that is not a Google product taxonomy category inside the chosen top-level category is replaced by the
offline one (and said so). Any failure (no key, timeout, malformed output) gives the offline reading with
a notice. The New Forecast page shows the result and uses it for the fields the analyst left on "auto";
the API and the CLI read products offline (deterministic).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Literal

from pydantic import BaseModel, Field

from agents.writers import LLMWriter, Writer, failure_reason
from core.forecast.understanding import AUDIENCE_AGES, Understanding, taxonomy, understand

log = logging.getLogger(__name__)

PROMPT = (
    "You classify a product for a market-sizing tool. From its name, description and top-level category, "
    "say: its climate affinity (cold: sells where and when it is cold, e.g. winter coats, heaters; warm: "
    "sells where and when it is hot, e.g. swimwear, fans; none otherwise), the calendar months of a calendar "
    "season every country shares (e.g. [11, 12] for Christmas decorations; [] if none), its Google product "
    "taxonomy category path inside the given top-level category (e.g. 'Apparel & Accessories > Clothing > "
    "Swimwear'), its gender (women, men or any) and audience (adults, kids, teens, seniors), and your "
    "confidence from 0 to 1. Use only what the text says."
)


class ProductReading(BaseModel):
    """The schema the LLM fills (structured output)."""

    climate: Literal["cold", "warm", "none"]
    season_months: list[int] = Field(max_length=12)
    product_type: str = Field(max_length=300)
    gender: Literal["any", "women", "men"]
    audience: Literal["adults", "kids", "teens", "seniors"]
    confidence: float = Field(ge=0, le=1)


def read_product(
    writer: Writer, name: str, description: str | None, category: str | None
) -> tuple[Understanding, str, list[str]]:
    """(reading, "llm" or "offline", notices)."""
    offline = understand(name, description, category)
    if not isinstance(writer, LLMWriter):
        return offline, "offline", []
    try:
        completion = writer.client.chat.completions.parse(
            model=writer.model,
            messages=[
                {"role": "system", "content": PROMPT},
                {
                    "role": "user",
                    "content": json.dumps(
                        {"name": name, "description": description or "", "top_level_category": category or ""}
                    ),
                },
            ],
            response_format=ProductReading,
        )
        got = completion.choices[0].message.parsed
        if got is None:
            raise ValueError("the model returned no structured output")
    except Exception as exc:
        reason = failure_reason(exc)
        log.warning("LLM product reading failed (%s, %s); offline reading used", reason, type(exc).__name__)
        return (
            offline,
            "offline",
            [f"The LLM could not read the product ({reason}); the offline reading is used."],
        )
    notices = []
    months = tuple(sorted({m for m in got.season_months if 1 <= m <= 12}))
    paths = {n.path: n.id for n in taxonomy()[0] if category is None or n.top == category}
    if got.product_type in paths:
        ptype, pid = got.product_type, paths[got.product_type]
    else:
        ptype, pid = offline.product_type, offline.product_type_id
        notices.append(
            "The LLM's product type is not a Google product taxonomy category of this top-level "
            "category; the offline reading's type is kept."
        )
    reading = dataclasses.replace(
        offline,
        climate=got.climate,
        climate_confidence=round(got.confidence, 2) if got.climate != "none" else 0.0,
        climate_evidence=("read by the LLM",) if got.climate != "none" else (),
        season_months=months,
        season_evidence=("read by the LLM",) if months else (),
        product_type=ptype,
        product_type_id=pid,
        gender=got.gender if got.audience == "adults" else "any",
        audience=got.audience,
        suggested_ages=AUDIENCE_AGES.get(got.audience, ()),
    )
    log.info(
        "LLM product reading: climate %s, season %s, type %s", reading.climate, months or "-", ptype or "-"
    )
    return reading, "llm", notices
