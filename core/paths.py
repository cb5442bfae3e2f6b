"""Filesystem locations inside the project (never outside it)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
ASSETS_DIR = ROOT / "assets"
VAR_DIR = ROOT / "var"

CITIES_FILE = DATA_DIR / "cities.parquet"
COUNTRIES_FILE = DATA_DIR / "countries.parquet"
STATIC_DIR = ROOT / "static"  # served by Streamlit at /app/static/ (server.enableStaticServing)
BASEMAP_FILE = STATIC_DIR / "countries_110m.geojson"
BASEMAP_URL = "app/static/countries_110m.geojson"
CATEGORIES_FILE = DATA_DIR / "categories.csv"
ALT_NAMES_FILE = DATA_DIR / "alternate_names.parquet"
