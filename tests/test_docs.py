"""Docs stay true: every setting is documented; the README shows the two commands."""

from __future__ import annotations

import pytest

from core import paths
from core.settings import Settings

README = (paths.ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (paths.ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name.upper()}`" in README, f"README does not document {name.upper()}"
    assert f"{name} =" in EXAMPLE, f"secrets.toml.example lacks {name}"
    assert Settings.model_fields[name].description, f"{name} has no description"


def test_readme_starts_with_the_two_commands() -> None:
    head = README[:1500]
    assert "make run" in head and "make test" in head


def test_methodology_documents_every_parameter() -> None:
    from core import forecast
    from core.forecast import categories

    text = (paths.ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    own = [n for n in dir(forecast) if n.isupper() and not hasattr(categories, n)]
    params = [n for n in own if n != "HEADLINE_COLUMNS"]
    missing = [n for n in params if f"`{n}`" not in text]
    assert not missing, f"docs/methodology.md does not document {missing}"


def test_documented_parameter_values_match_the_code() -> None:
    """The "Parameters at a glance" table states each value; the code must use the value it states (a
    change to either without the other fails, e.g. the forecast's uncertainty 0.8 -> 0.01)."""
    import re

    from core import forecast

    text = (paths.ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    table = text[text.index("## Parameters at a glance"):]
    for names, value_text in re.findall(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \| ([^|]+) \|", table, flags=re.M):
        params = re.findall(r"`([A-Z0-9_]+)`", names)
        numbers = [float(x.replace(",", "")) for x in re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?", value_text)]
        for name in params:
            if not hasattr(forecast, name):
                continue
            value = getattr(forecast, name)
            values = list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, tuple) else [value]
            for v in values:
                assert any(abs(float(v) - n) <= 1e-9 + 0.01 * abs(n) or abs(100 * float(v) - n) < 1e-6 for n in numbers) \
                    or any(abs(float(v) - a / b) < 1e-9 for a in numbers for b in numbers if b), (name, v, value_text)
