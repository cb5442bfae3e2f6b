"""`python -m core forecast`: the exact command-line contract, run as a real process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from core import paths
from core.forecast import HEADLINE_COLUMNS

BASE = ["forecast", "--name", "Tee", "--category", "166", "--price", "30", "--unit-cost", "8"]


def run(*args: str, db=None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if db is not None:
        env["DATABASE_URL"] = db.url
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )


def test_csv_top(sqlite_db) -> None:
    res = run(*BASE, "--top", "25", db=sqlite_db)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(io.StringIO(res.stdout))
    assert list(table.columns[: len(HEADLINE_COLUMNS)]) == HEADLINE_COLUMNS
    assert len(table) == 25
    assert list(table["rank"]) == list(range(1, 26))
    assert table["opportunity_score"].is_monotonic_decreasing


def test_default_is_every_city_in_scope(sqlite_db) -> None:
    res = run(*BASE, "--countries", "BR", db=sqlite_db)
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(io.StringIO(res.stdout))
    frame = pd.read_parquet(paths.CITIES_FILE)
    cities = frame[frame["parent_city_id"].isna()]  # districts are folded into their city
    assert len(table) == int((cities["country_iso2"] == "BR").sum())
    assert set(table["country_iso2"]) == {"BR"}
    assert table["city_id"].is_unique and not set(table["city_id"]) & set(
        frame.loc[frame["parent_city_id"].notna(), "city_id"]
    )


def test_json_to_file_with_all_options(sqlite_db, tmp_path) -> None:
    out = tmp_path / "rank.json"
    res = run(
        *BASE,
        "--description",
        "organic cotton tee",
        "--target-ages",
        "25-34,35-44",
        "--ships-from",
        "Istanbul, TR",
        "--countries",
        "DE,FR",
        "--top",
        "10",
        "--format",
        "json",
        "--out",
        str(out),
        db=sqlite_db,
    )
    assert res.returncode == 0, res.stderr
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert len(rows) == 10
    assert set(HEADLINE_COLUMNS) <= set(rows[0])
    assert {r["country_iso2"] for r in rows} <= {"DE", "FR"}
    assert all(r["cross_border"] == 1 for r in rows)


def test_unit_cost_above_price_warns(sqlite_db) -> None:
    res = run(
        "forecast",
        "--name",
        "X",
        "--category",
        "222",
        "--price",
        "10",
        "--unit-cost",
        "12",
        "--top",
        "1",
        db=sqlite_db,
    )
    assert res.returncode == 0
    assert res.stderr.startswith("warning:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "gadgets"], "valid categories: 1 Animals & Pet Supplies"),
        (["--price", "0"], "price"),
        (["--price", "-5"], "price"),
        (["--price", "abc"], "invalid float value"),
        (["--countries", "BR,XX"], "unknown country code 'XX'"),
        (["--ships-from", "Istanbool, TR"], "did you mean: Istanbul, TR"),
        (["--ships-from", "Springfield"], "ambiguous"),
        (["--top", "0"], "top must be at least 1"),
        (["--format", "xml"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(sqlite_db, args, message) -> None:
    argv = list(BASE)
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    res = run(*argv, db=sqlite_db)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr


def test_missing_required_flag() -> None:
    res = run("forecast", "--name", "X")
    assert res.returncode == 2
    assert "required" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_unseeded_database_says_how_to_fix(tmp_path) -> None:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    res = subprocess.run(
        [sys.executable, "-m", "core", *BASE],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=paths.ROOT,
    )
    assert res.returncode == 2
    assert "python -m core seed" in res.stderr


def test_cities_search_is_the_explorers_search(sqlite_db, ca, capsys, monkeypatch) -> None:
    """`python -m core cities --search` prints what core.places.explore.search_cities finds (in process: the
    command's contract, without a second interpreter start)."""
    from core.cli.commands import main
    from core.places.explore import search_cities

    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    assert main(["cities", "--search", "Bombay", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [r["city_id"] for r in got] == list(search_cities(ca.frame, "Bombay", ca.sections)["city_id"])
    assert got[0]["name"] == "Mumbai" and got[0]["matched"] == "alternate name"
    assert main(["cities", "--search", "Turkey", "--limit", "5"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(table) == 5 and set(table["country_iso2"]) == {"TR"}
    assert main(["cities", "--search", "x", "--limit", "0"]) == 2
    assert "--limit" in capsys.readouterr().err
