"""`python -m core ...`: the stable command-line contracts (README, "Command line"), one module per command
group (data, ranking, learning, operations, citydata) and the shared helpers (common).

Bad input exits with code 2 and one line on stderr; never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from core.cli import citydata, data, learning, operations, ranking
from core.cli.common import (  # noqa: F401  (agents/__main__.py and bench scripts use them from here)
    EXIT_BAD_INPUT,
    Parser,
    add_shipping_payer_option,
    checked_out,
    database,
    write_text_atomic,
)
from core.errors import AppError


def build_parser() -> Parser:
    parser = Parser(prog="python -m core", description="AI-Commerce Intelligence Platform commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (data, ranking, learning, operations, citydata):
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from core.logs import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"))  # a CLI's stdout is data: quiet by default
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
