"""`python -m core ...`: the stable command-line contracts (README, "Command line").

Bad input exits with code 2 and one line on stderr; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from core.errors import AppError

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _database():
    from core.db.database import Database
    from core.settings import load_settings

    return Database(load_settings().database_url)


def cmd_data_build(_args: argparse.Namespace) -> int:
    from core.data_build import build

    summary = build()
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    from core.db.seed import seed

    db = _database()
    report = seed(db)
    state = "loaded" if report.loaded else "already current"
    print(f"database ready: {report.cities} cities ({state}); demo accounts: {', '.join(report.accounts) or 'none'}")
    return 0


def write_table(frame: pd.DataFrame, fmt: str, out: str | None) -> None:
    """Write a result table as CSV or JSON to a file or stdout."""
    if fmt == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=None)
    else:
        text = frame.to_csv(index=False)
    if out:
        Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_forecast(args: argparse.Namespace) -> int:
    from core.citydata import city_arrays_from_db
    from core.forecast import rank_product, validate_product

    product = validate_product(
        name=args.name,
        description=args.description or "",
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        target_ages=args.target_ages,
        ships_from=args.ships_from,
    )
    if product.cost_warning:
        print(f"warning: {product.cost_warning}", file=sys.stderr)
    countries = [c for c in (args.countries or "").split(",") if c.strip()]
    ca = city_arrays_from_db(_database())
    table = rank_product(ca, product, countries=countries or None, top=args.top)
    write_table(table.round(6), args.format, args.out)
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="python -m core", description="AI-Commerce Intelligence Platform commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="data tables")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    data_sub.add_parser("build", help="rebuild data/*.parquet from data/raw/").set_defaults(func=cmd_data_build)

    sub.add_parser("seed", help="create or migrate the database and load cities and demo accounts").set_defaults(
        func=cmd_seed
    )

    fc = sub.add_parser("forecast", help="rank cities for a product")
    fc.add_argument("--name", required=True)
    fc.add_argument("--category", required=True, help="Google taxonomy id or name")
    fc.add_argument("--price", required=True, type=float, help="USD")
    fc.add_argument("--unit-cost", required=True, type=float, help="USD")
    fc.add_argument("--description", default="")
    fc.add_argument("--target-ages", default=None, help="e.g. 25-34,35-44")
    fc.add_argument("--ships-from", default=None, help='"Istanbul, TR" or "TR"')
    fc.add_argument("--countries", default=None, help="ISO codes, e.g. BR,US")
    fc.add_argument("--top", type=int, default=None)
    fc.add_argument("--format", choices=["csv", "json"], default="csv")
    fc.add_argument("--out", default=None)
    fc.set_defaults(func=cmd_forecast)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Other modules add their sub-commands here (users, calibrate, webhook, billing).
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
