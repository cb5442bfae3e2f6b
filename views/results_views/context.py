"""What every Results view needs about the open forecast (built once per run by views/results.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.accounts import UserInfo
from core.forecast import CityArrays, Prepared, ProductInput


@dataclass(frozen=True)
class ResultsContext:
    forecast_id: str
    ca: CityArrays
    user: UserInfo | None
    product: ProductInput
    scope: list[str]
    prep: Prepared
    stored: pd.DataFrame
