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
    """The "Parameters at a glance" table states each value; the code must use exactly the value it states,
    in the order the row names them (display rounding aside: 4 significant digits). A change to either
    without the other fails, e.g. DELIVERY_ELASTICITY 0.5 -> 1.0 (issue 22: the old check accepted any
    ratio of two numbers in the row)."""
    import re

    from core import forecast
    from core.forecast import season, understanding
    from core.places import data_build, sections

    modules = (forecast, season, understanding, data_build, sections)
    text = (paths.ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    table = text[text.index("## Parameters at a glance") :]
    rows = re.findall(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*)[^|]*\| ([^|]+) \|", table, flags=re.M)
    checked = 0
    for names, value_text in rows:
        params = re.findall(r"`([A-Z0-9_]+)`", names)
        found = [next((getattr(m, n) for m in modules if hasattr(m, n)), None) for n in params]
        if any(v is None for v in found):
            assert all(v is None for v in found), (names, "some of the row's names are not in the code")
            continue
        values: list[float] = []
        for v in found:
            values += [
                float(x) for x in (v.values() if isinstance(v, dict) else v if isinstance(v, tuple) else [v])
            ]
        numbers = []
        for a, b in re.findall(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?(?:e-?\d+)?)(?:/(\d+))?", value_text):
            n = float(a.replace(",", ""))
            numbers.append(n / float(b) if b else n)
        numbers = [
            n / 100 if "%" in value_text and n > 1 and any(abs(v - n / 100) < 1e-9 for v in values) else n
            for n in numbers
        ]
        assert len(numbers) >= len(values), (names, value_text)
        for v, n in zip(values, numbers, strict=False):
            assert v == n or abs(v - n) <= 1e-4 * max(abs(n), 1e-12) or abs(100 * v - n) <= 1e-9, (
                names,
                v,
                n,
            )
        checked += len(values)
    assert checked >= 30  # the table is read (a regex change that matched nothing would pass vacuously)
