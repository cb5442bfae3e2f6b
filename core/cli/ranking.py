"""`python -m core forecast` (rank cities for a product) and `python -m core cities` (search cities)."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import (
    add_shipping_payer_option,
    checked_out,
    database,
    parse_weights,
    write_table,
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
    db = database()
    ca = city_arrays_from_db(db)
    if args.user:  # that user's own city data laid over the shared table (core.services.cities)
        from core import accounts
        from core.errors import InputError
        from core.services.cities import for_user

        user = accounts.get_user(db, email=args.user)
        if user is None:
            raise InputError(f"no user {args.user!r}; add one with `users add`", field="user")
        ca = for_user(db, ca, user.id)
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
    ca = city_arrays_from_db(database())
    countries = [c.strip().upper() for c in (args.countries or "").split(",") if c.strip()]
    table = search_cities(
        ca.frame, args.search or "", ca.sections, countries or None, None, args.min_population
    )
    write_table(table.head(args.limit), args.format, args.out)
    return 0


def register(sub) -> None:
    """Add this group's commands to the parser's subcommands."""
    from core.forecast import CLIMATE_CHOICES

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
    fc.add_argument("--user", default=None, help="rank with this user's own city data (e-mail)")
    fc.add_argument("--format", choices=["csv", "json"], default="csv")
    fc.add_argument("--out", default=None)
    fc.set_defaults(func=cmd_forecast)
