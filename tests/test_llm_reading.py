"""The LLM's reading of a product (agents/understanding.py) against a fake OpenAI-compatible server."""

from __future__ import annotations

from agents.understanding import read_product
from agents.writers import LLMWriter, TemplateWriter
from core.forecast.understanding import understand
from tests.fake_openai import FakeOpenAI


def test_offline_writer_gives_the_offline_reading() -> None:
    reading, source, notices = read_product(
        TemplateWriter(), "Down winter jacket", "", "Apparel & Accessories"
    )
    assert source == "offline" and notices == []
    assert reading == understand("Down winter jacket", "", "Apparel & Accessories")


def test_llm_reading_is_checked_against_the_schema_and_the_taxonomy() -> None:
    """The fake answers the schema's first choices (climate "cold") and a product type that is no taxonomy
    category: the climate is taken, the type falls back to the offline one, and the page is told."""
    with FakeOpenAI() as fake:
        writer = LLMWriter("sk-test", "gpt-test", base_url=fake.url, timeout_s=5, max_retries=0)
        reading, source, notices = read_product(writer, "Leather wallet", "", "Apparel & Accessories")
    offline = understand("Leather wallet", "", "Apparel & Accessories")
    assert source == "llm" and reading.climate == "cold" and offline.climate == "none"
    assert reading.product_type == offline.product_type and any("taxonomy" in n for n in notices)
    assert reading.season_months == (1,)  # the fake's integer, kept because it is a month


def test_llm_failure_falls_back_to_the_offline_reading() -> None:
    with FakeOpenAI(mode="malformed") as fake:
        writer = LLMWriter("sk-test", "gpt-test", base_url=fake.url, timeout_s=5, max_retries=0)
        reading, source, notices = read_product(writer, "Women's swimsuit", "", "Apparel & Accessories")
    assert source == "offline" and reading.climate == "warm"
    assert notices and "offline reading is used" in notices[0]
