"""What every command shares: the one-line argparse error, the database, output paths written atomically,
the table writer and the options several commands take."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

import pandas as pd

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def database(create: bool = False):
    """The configured database; only ``seed`` (create=True) may create a new SQLite file."""
    from core.db.database import Database
    from core.settings import load_settings

    return Database(load_settings().database_url, create=create)


def checked_out(path: str | None) -> Path | None:
    """An --out / --report path that can be written, checked before any work (exit 2 otherwise)."""
    from core.errors import InputError

    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{path} is a folder; give a file name")
    if not out.parent.is_dir():
        raise InputError(f"the folder {out.parent} does not exist; create it first")
    special = str(out.resolve()).startswith(("/proc/", "/sys/", "/dev/"))
    if special or not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"cannot write {path}; choose a writable file")
    return out


def write_text_atomic(out: Path, text: str) -> None:
    """Write to a temporary file beside ``out`` and rename: never a half-written file."""
    from core.errors import InputError

    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None


def write_table(frame: pd.DataFrame, fmt: str, out: str | None) -> None:
    """Write a result table as CSV or JSON to a file or stdout."""
    if fmt == "json":
        text = frame.to_json(orient="records", force_ascii=False, indent=None)
    else:
        text = frame.to_csv(index=False)
    if out:
        write_text_atomic(checked_out(out), text if text.endswith("\n") else text + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def add_shipping_payer_option(parser: argparse.ArgumentParser) -> None:
    """``--shipping-paid-by``: who pays the parcel (docs/methodology.md, section 4), for every command that
    builds a product."""
    from core.forecast import SHIPPING_PAYERS, ProductInput

    default = ProductInput.model_fields["shipping_paid_by"].default
    parser.add_argument(
        "--shipping-paid-by",
        choices=SHIPPING_PAYERS,
        default=default,
        help=f"buyer: the price excludes shipping; seller: free shipping (default: {default})",
    )


def parse_weights(text: str | None) -> dict | None:
    """``demand=0.1,profitability=0.2,competition=0.7`` -> the ScoreWeights fields (InputError otherwise)."""
    from core.errors import InputError

    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key not in ("demand", "profitability", "competition"):
            raise InputError(
                f"--weights: {key or part!r} is not one of demand, profitability, competition",
                field="weights",
            )
        try:
            out[key] = float(value)
        except ValueError:
            raise InputError(f"--weights: {key} needs a number, e.g. {key}=0.5", field="weights") from None
    return out
