"""`python -m core data build` and `python -m core seed`: the shipped tables and the database."""

from __future__ import annotations

import argparse
import json

from core.cli.common import (
    Parser,
    database,
)


def cmd_data_build(_args: argparse.Namespace) -> int:
    from core.places.data_build import build

    summary = build()
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    from core.services.seed import seed
    from core.settings import load_settings

    db = database(create=True)
    report = seed(db, demo=load_settings().is_demo)
    state = "loaded" if report.loaded else "already current"
    print(
        f"database ready: {report.cities} cities ({state}); demo accounts: {', '.join(report.accounts) or 'none'}"
    )
    return 0


def register(sub) -> None:
    """Add this group's commands to the parser's subcommands."""
    data = sub.add_parser("data", help="data tables")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    data_sub.add_parser("build", help="rebuild data/*.parquet from data/raw/").set_defaults(
        func=cmd_data_build
    )

    sub.add_parser(
        "seed", help="create or migrate the database and load cities and demo accounts"
    ).set_defaults(func=cmd_seed)
