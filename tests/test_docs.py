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
    from core import categories, forecast

    text = (paths.ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    own = [n for n in dir(forecast) if n.isupper() and not hasattr(categories, n)]
    params = [n for n in own if n != "HEADLINE_COLUMNS"]
    missing = [n for n in params if f"`{n}`" not in text]
    assert not missing, f"docs/methodology.md does not document {missing}"
