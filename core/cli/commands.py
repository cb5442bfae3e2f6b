"""`python -m core ...`: the stable command-line contracts (README, "Command line").

Bad input exits with code 2 and one line on stderr; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
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


def _database(create: bool = False):
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


def cmd_data_build(_args: argparse.Namespace) -> int:
    from core.places.data_build import build

    summary = build()
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def cmd_seed(_args: argparse.Namespace) -> int:
    from core.services.seed import seed
    from core.settings import load_settings

    db = _database(create=True)
    report = seed(db, demo=load_settings().is_demo)
    state = "loaded" if report.loaded else "already current"
    print(
        f"database ready: {report.cities} cities ({state}); demo accounts: {', '.join(report.accounts) or 'none'}"
    )
    return 0


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


def cmd_forecast(args: argparse.Namespace) -> int:
    checked_out(args.out)
    from core.forecast import rank_product, validate_product
    from core.places.citydata import city_arrays_from_db

    product = validate_product(
        name=args.name,
        description=args.description or "",
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        target_ages=args.target_ages,
        ships_from=args.ships_from,
        shipping_paid_by=args.shipping_paid_by,
        climate=args.climate,
        season_months=args.season,
        launch_month=args.month,
        **({"weights": parse_weights(args.weights)} if args.weights else {}),
    )
    if product.cost_warning:
        print(f"warning: {product.cost_warning}", file=sys.stderr)
    countries = [c for c in (args.countries or "").split(",") if c.strip()]
    ca = city_arrays_from_db(_database())
    table = rank_product(ca, product, countries=countries or None, top=args.top)
    write_table(table.round(6), args.format, args.out)
    return 0


def cmd_cities(args: argparse.Namespace) -> int:
    """Search the city table as the City Explorer does (one function: core.places.explore.search_cities)."""
    from core.errors import InputError
    from core.places.citydata import city_arrays_from_db
    from core.places.explore import search_cities

    if args.limit < 1:
        raise InputError("--limit: give at least 1", field="limit")
    ca = city_arrays_from_db(_database())
    countries = [c.strip().upper() for c in (args.countries or "").split(",") if c.strip()]
    table = search_cities(
        ca.frame, args.search or "", ca.sections, countries or None, None, args.min_population
    )
    write_table(table.head(args.limit), args.format, args.out)
    return 0


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


def cmd_users(args: argparse.Namespace) -> int:
    from core import accounts

    db = _database()
    if args.users_command == "add":
        user = accounts.create_user(
            db, args.email, args.password, tier=args.tier, role="admin" if args.admin else "user"
        )
        print(f"added {user.email} ({user.tier}, {user.role})")
    elif args.users_command == "set-tier":
        user = accounts.set_tier(db, args.email, args.tier)
        print(f"{user.email} is now on {user.tier}")
    elif args.users_command == "set-role":
        user = accounts.set_role(db, args.email, args.role)
        print(f"{user.email} is now {user.role}")
    elif args.users_command == "api-key":
        return _api_key(db, args)
    else:
        rows = accounts.list_users(db)
        if args.format == "json":
            print(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "email": r.email,
                            "tier": r.tier,
                            "role": r.role,
                            "status": r.status,
                            "forecasts_this_month": r.forecasts_this_month,
                            "demo": r.is_demo,
                            "created_at": r.created_at.isoformat(),
                        }
                        for r in rows
                    ],
                    indent=2,
                )
            )
        else:
            for r in rows:
                print(
                    f"{r.email:<32} {r.tier:<7} {r.role:<6} {r.status:<9} {r.forecasts_this_month:>5} forecasts"
                )
    return 0


def _api_key(db, args: argparse.Namespace) -> int:
    from core import accounts
    from core.accounts import apikeys
    from core.errors import InputError

    user = accounts.get_user(db, email=args.email)
    if user is None:
        raise InputError(f"no user {args.email!r}; add one with `users add`", field="email")
    if args.key_command == "create":
        info, token = apikeys.create_key(db, user, args.name)
        print(f"created key {info.prefix}... ({info.name or 'unnamed'}) for {user.email}; it is shown once:")
        print(token)
    elif args.key_command == "revoke":
        info = apikeys.revoke_key(db, user.id, args.key)
        print(f"revoked {info.prefix}... ({info.name or 'unnamed'})")
    else:
        for k in apikeys.list_keys(db, user.id):
            state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}"
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            print(
                f"{k.prefix}...  {k.name or '-':<20} created {k.created_at:%Y-%m-%d}  last used {used}  {state}"
            )
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    """Serve the API, whose POST /webhook receives Stripe's events (python -m api does the same)."""
    from core import billing
    from core.settings import load_settings

    if load_settings().stripe_webhook_secret is None:
        raise billing.BillingError("STRIPE_WEBHOOK_SECRET is not set; the webhook cannot verify signatures")
    print(f"Stripe webhook (and the API) on http://{args.host}:{args.port}/webhook", flush=True)
    # The API is an interface beside the CLI, not something core imports: this command becomes that
    # server process (`python -m api`), as the README's second way of serving the webhook.
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "api", "--host", args.host, "--port", str(args.port)])


def cmd_sync(args: argparse.Namespace) -> int:
    """Import new orders of one marketplace connection (for cron); resumes where the last sync stopped."""
    from core.accounts import connections
    from core.settings import load_settings

    info = connections.sync_stored(
        _database(),
        load_settings(),
        args.connection,
        on_progress=lambda total, new: print(f"{total:,} orders ({new:,} new)", file=sys.stderr),
    )
    print(
        f"{info.name}: {info.orders:,} orders, {info.skipped:,} without a usable shipping city; status {info.status}"
    )
    return 0


def cmd_billing_sync(_args: argparse.Namespace) -> int:
    from core import billing
    from core.settings import load_settings

    for line in billing.sync(_database(), load_settings()):
        print(line)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from core import calibration
    from core.errors import InputError
    from core.forecast import evaluate, prepare, scope_mask, validate_product
    from core.places.citydata import city_arrays_from_db

    checked_out(args.out), checked_out(args.report)
    path = Path(args.sales)
    if not path.is_file():
        raise InputError(f"no such file: {args.sales}")
    rows, measure = calibration.read_sales(path.read_bytes(), path.name, country=args.country)
    product = validate_product(
        name=path.stem or "sales",
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        shipping_paid_by=args.shipping_paid_by,
    )
    ca = city_arrays_from_db(_database())
    countries = [c for c in (args.countries or "").split(",") if c.strip()] or None
    scope_mask(ca, countries)
    extra = None
    if args.search_keyword:
        from core.places import trends

        extra = trends.calibration_features(_database(), args.search_keyword, ca)
    result = calibration.calibrate(rows, measure, evaluate(prepare(ca, product)), countries, extra=extra)
    cols = [
        "city_id",
        "city",
        "region",
        "country_iso2",
        "population",
        "predicted",
        "predicted_low",
        "predicted_high",
        "in_training",
    ]
    write_table(result.predictions[cols].round(6), "csv", args.out)
    report = result.report_dict() | result.metrics() | {"measure": measure}
    if args.report:
        write_text_atomic(
            checked_out(args.report), json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
        )
    print(
        f"calibrated on {report['n_train']} cities: CV Spearman {result.cv.spearman:.2f} "
        f"(population-only {result.cv.baseline_spearman:.2f}, uncalibrated forecast {result.cv.prior_spearman:.2f}); "
        f"{len(result.report.unmatched)} rows unmatched",
        file=sys.stderr,
    )
    return 0


def cmd_trends(args: argparse.Namespace) -> int:
    """Fetch (or with --stored, show) Google Trends interest by city for a keyword in a country."""
    from core.places import trends
    from core.places.citydata import city_arrays_from_db
    from core.settings import load_settings

    checked_out(args.out)
    db = _database()
    if args.stored:
        signal = trends.stored(db, args.keyword, args.country)
        if signal is None:
            print(
                f"nothing stored for {trends.normalise_keyword(args.keyword)!r} in {args.country.upper()}",
                file=sys.stderr,
            )
            return 1
    else:
        with trends.client_from(load_settings()) as client:
            signal = trends.fetch(db, client, city_arrays_from_db(db), args.keyword, args.country)
    print(
        f"{signal.keyword!r} in {signal.country}, fetched {signal.fetched_at:%Y-%m-%d %H:%M} UTC: "
        f"{signal.values.size} cities, {len(signal.unmatched)} of Google's places unmatched",
        file=sys.stderr,
    )
    write_table(signal.values.rename("search_interest").reset_index(), "csv", args.out)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from core.calibration.validation import read_truth, validate
    from core.errors import InputError
    from core.forecast import evaluate, prepare, validate_product
    from core.places.citydata import city_arrays_from_db

    path = Path(args.truth)
    if not path.is_file():
        raise InputError(f"no such file: {args.truth}")
    product = validate_product(
        name=args.name,
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        ships_from=args.ships_from,
        shipping_paid_by=args.shipping_paid_by,
    )
    ca = city_arrays_from_db(_database())
    truth = read_truth(path.read_bytes(), ca, path.name)
    result = validate(truth, evaluate(prepare(ca, product)), splits=args.splits)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    r = result
    print(
        f"truth: {path.name}: {r.rows:,} rows -> {r.cities:,} cities ({r.unmatched_rows} rows unmatched; "
        f"matched by {', '.join(f'{k} {v:,}' for k, v in r.match_methods.items())})"
    )
    origin = product.ships_from or "each country's hub"
    print(
        f"product: {product.category}, ${product.price:,.2f} / ${product.unit_cost:,.2f}, ships from {origin}, "
        f"shipping paid by the {product.shipping_paid_by}"
    )
    print("Spearman rank correlation with real orders (all matched cities):")
    print(f"  prior (expected units)        {r.prior_spearman:.3f}")
    print(f"  population alone              {r.population_spearman:.3f}")
    print(f"  noise ceiling (split-half)    {r.noise_ceiling:.3f}")
    print(
        f"Inside regions ({r.regions_compared} regions with 20+ matched cities; city-weighted mean Spearman):"
    )
    print(f"  prior                         {r.within_region_prior:.3f}")
    print(f"  population alone              {r.within_region_population:.3f}")
    print("Between regions (regional sums):")
    print(f"  prior                         {r.between_region_prior:.3f}")
    print(f"  population alone              {r.between_region_population:.3f}")
    print(f"On held-out halves ({args.splits} random splits; trained on the other half):")
    print(
        f"  calibrated                    {r.calibrated_half_spearman:.3f} (worst split {r.calibrated_half_min:.3f})"
    )
    print(f"  prior                         {r.prior_half_spearman:.3f}")
    print(f"  population-only model         {r.population_half_spearman:.3f}")
    print(f"  population + region (Poisson) {r.population_region_half_spearman:.3f}")
    print(f"Size bias (slope of ln(orders / prior) on ln population; 0 = none): {r.size_bias:+.3f}")
    return 0


def build_parser() -> Parser:
    from core.forecast import CLIMATE_CHOICES

    parser = Parser(prog="python -m core", description="AI-Commerce Intelligence Platform commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="data tables")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    data_sub.add_parser("build", help="rebuild data/*.parquet from data/raw/").set_defaults(
        func=cmd_data_build
    )

    sub.add_parser(
        "seed", help="create or migrate the database and load cities and demo accounts"
    ).set_defaults(func=cmd_seed)

    ci = sub.add_parser("cities", help="search cities by name, alternate name, district or country")
    ci.add_argument(
        "--search", default="", help='e.g. "Cologne", "Brooklyn", "Turkey"; empty lists the largest'
    )
    ci.add_argument("--countries", default=None, help="ISO2 codes, comma-separated")
    ci.add_argument("--min-population", type=float, default=0.0)
    ci.add_argument("--limit", type=int, default=20)
    ci.add_argument("--format", choices=["csv", "json"], default="csv")
    ci.add_argument("--out", default=None)
    ci.set_defaults(func=cmd_cities)

    fc = sub.add_parser("forecast", help="rank cities for a product")
    fc.add_argument("--name", required=True)
    fc.add_argument("--category", required=True, help="Google taxonomy id or name")
    fc.add_argument("--price", required=True, type=float, help="USD")
    fc.add_argument("--unit-cost", required=True, type=float, help="USD")
    fc.add_argument("--description", default="")
    fc.add_argument("--target-ages", default=None, help="e.g. 25-34,35-44")
    fc.add_argument("--ships-from", default=None, help='"Istanbul, TR" or "TR"')
    add_shipping_payer_option(fc)
    fc.add_argument(
        "--climate",
        choices=CLIMATE_CHOICES,
        default="auto",
        help="cold / warm-weather product, none, or auto: read from the name and description",
    )
    fc.add_argument(
        "--season", default="auto", help="calendar season months, e.g. 11-12 (Christmas), none, or auto"
    )
    fc.add_argument(
        "--month",
        type=int,
        default=None,
        choices=range(1, 13),
        metavar="1..12",
        help="rank by this month's sales (default: the average month)",
    )
    fc.add_argument(
        "--weights", default=None, help="score weights, e.g. demand=0.5,profitability=0.3,competition=0.2"
    )
    fc.add_argument("--countries", default=None, help="ISO codes, e.g. BR,US")
    fc.add_argument("--top", type=int, default=None)
    fc.add_argument("--format", choices=["csv", "json"], default="csv")
    fc.add_argument("--out", default=None)
    fc.set_defaults(func=cmd_forecast)

    cal = sub.add_parser("calibrate", help="fit on your sales by city, predict the other cities")
    cal.add_argument(
        "--sales",
        required=True,
        help="CSV: city, country, [region], units|orders|revenue, [period]; "
        "columns named in other languages or exports (cidade, estado, quantity ...) are recognised",
    )
    cal.add_argument("--category", required=True)
    cal.add_argument("--price", required=True, type=float)
    cal.add_argument("--unit-cost", required=True, type=float)
    cal.add_argument("--countries", default=None)
    cal.add_argument(
        "--country",
        default=None,
        help="the country of every row, for a file without a country column (e.g. BR)",
    )
    add_shipping_payer_option(cal)
    cal.add_argument("--out", default=None, help="predictions CSV (default: stdout)")
    cal.add_argument("--report", default=None, help="report JSON")
    cal.add_argument(
        "--search-keyword",
        default=None,
        help="add stored Google Trends interest for this keyword as a feature",
    )
    cal.set_defaults(func=cmd_calibrate)

    tr = sub.add_parser("trends", help="fetch Google Trends interest by city for a keyword (needs internet)")
    tr.add_argument("--keyword", required=True)
    tr.add_argument("--country", required=True, help="ISO2 code, e.g. BR")
    tr.add_argument("--stored", action="store_true", help="show what is stored instead of fetching")
    tr.add_argument("--out", default=None, help="CSV of city_id, search_interest (default: stdout)")
    tr.set_defaults(func=cmd_trends)

    val = sub.add_parser("validate", help="measure the forecast against real orders per city")
    val.add_argument("--truth", required=True, help="CSV: geonameid,orders (or city,country,[region],orders)")
    val.add_argument("--name", default="Validation product")
    val.add_argument("--category", default="Home & Garden", help="default: Home & Garden")
    val.add_argument("--price", type=float, default=25.0, help="USD (default 25)")
    val.add_argument("--unit-cost", type=float, default=10.0, help="USD (default 10)")
    val.add_argument("--ships-from", default=None, help='e.g. "Sao Paulo, BR" (default: each country\'s hub)')
    add_shipping_payer_option(val)
    val.add_argument("--splits", type=int, default=10, help="random half splits (default 10)")
    val.add_argument("--format", choices=["text", "json"], default="text")
    val.set_defaults(func=cmd_validate)

    users = sub.add_parser("users", help="list / add users, set tier and role")
    users_sub = users.add_subparsers(dest="users_command", required=True, parser_class=Parser)
    add = users_sub.add_parser("add", help="add a user")
    add.add_argument("--email", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--tier", choices=["basic", "pro", "master"], default="basic")
    add.add_argument("--admin", action="store_true")
    st_ = users_sub.add_parser("set-tier", help="change a user's tier")
    st_.add_argument("--email", required=True)
    st_.add_argument("--tier", choices=["basic", "pro", "master"], required=True)
    sr = users_sub.add_parser("set-role", help="change a user's role")
    sr.add_argument("--email", required=True)
    sr.add_argument("--role", choices=["user", "admin"], required=True)
    key = users_sub.add_parser("api-key", help="create, list or revoke a user's API keys")
    key_sub = key.add_subparsers(dest="key_command", required=True, parser_class=Parser)
    kc = key_sub.add_parser("create", help="create a key (printed once)")
    kc.add_argument("--email", required=True)
    kc.add_argument("--name", default="")
    kl = key_sub.add_parser("list", help="list keys by prefix")
    kl.add_argument("--email", required=True)
    kr = key_sub.add_parser("revoke", help="revoke a key by prefix or id")
    kr.add_argument("--email", required=True)
    kr.add_argument("--key", required=True, help="the key's prefix (aci_...) or id")
    ls = users_sub.add_parser("list", help="list users with their usage this month")
    ls.add_argument("--format", choices=["text", "json"], default="text")
    users.set_defaults(func=cmd_users)

    wh = sub.add_parser("webhook", help="serve the API, whose POST /webhook takes Stripe's events")
    wh.add_argument("--port", type=int, default=8000)
    wh.add_argument("--host", default="127.0.0.1")
    wh.set_defaults(func=cmd_webhook)

    sy = sub.add_parser("sync", help="import new orders of a marketplace connection (resumable)")
    sy.add_argument("--connection", required=True, help="the connection id (Connections page)")
    sy.set_defaults(func=cmd_sync)

    billing = sub.add_parser("billing", help="Stripe billing")
    billing_sub = billing.add_subparsers(dest="billing_command", required=True, parser_class=Parser)
    billing_sub.add_parser("sync", help="reconcile subscription status with Stripe").set_defaults(
        func=cmd_billing_sync
    )
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
