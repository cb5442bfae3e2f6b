"""`python -m core city-data`: a user's own city data (the $99-per-city add-on) -- add or change, list, remove.
Adding a city not yet bought prints the Stripe Checkout URL to pay at (demo mode: active at once)."""

from __future__ import annotations

import argparse
import json

from core.cli.common import Parser, database


def _user(db, email: str):
    from core import accounts
    from core.errors import InputError

    user = accounts.get_user(db, email=email)
    if user is None:
        raise InputError(f"no user {email!r}; add one with `users add`", field="email")
    return user


def cmd_city_data(args: argparse.Namespace) -> int:
    from core.forecast.custom import FIGURES, describe_figures
    from core.places.citydata import city_arrays_from_db
    from core.services import cities
    from core.settings import load_settings

    db = database()
    user = _user(db, args.user)
    if args.city_command == "remove":
        cities.remove_city(db, user.id, args.id)
        print(f"removed {args.id}: new forecasts of {user.email} use the shared figures for that city")
        return 0
    base = city_arrays_from_db(db)
    if args.city_command == "list":
        rows = cities.list_cities(db, user.id, base)
        if args.format == "json":
            print(json.dumps([r.as_dict() for r in rows], indent=2))
        for r in rows if args.format == "text" else []:
            print(f"{r.id}  {r.city:<40} {r.status:<15} {describe_figures(r.figures, r.sources)}")
        return 0
    req = cities.CityRequest(
        figures={k: getattr(args, k) for k in FIGURES},
        sources={k: getattr(args, f"{k}_source") for k in FIGURES},
        city=args.city,
        name=args.new,
        country_iso2=args.country,
        lat=args.lat,
        lon=args.lon,
    )
    info = cities.save_city(db, load_settings(), user, base, req)
    if info.checkout_url:
        print(f"{info.city}: pay ${info.price_usd:,.0f} at {info.checkout_url}")
    else:
        print(f"{info.city}: {info.status} for {user.email} ({info.id})")
    return 0


def register(sub) -> None:
    """Add this group's commands to the parser's subcommands."""
    from core.forecast.custom import FIGURES

    cd = sub.add_parser("city-data", help="a user's own city data: add or change, list, remove")
    cd_sub = cd.add_subparsers(dest="city_command", required=True, parser_class=Parser)
    add = cd_sub.add_parser("add", help="add (or change) a user's figures for a city")
    add.add_argument("--user", required=True, help="the user's e-mail")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--city", help='an existing city: "Campinas, BR" or "Springfield, Illinois, US"')
    which.add_argument("--new", help="the name of a city the table lacks (with --country, --lat, --lon)")
    add.add_argument("--country", help="ISO2 code of the new city's country")
    add.add_argument("--lat", type=float, help="the new city's latitude (decimal degrees, south negative)")
    add.add_argument("--lon", type=float, help="the new city's longitude (decimal degrees, west negative)")
    for key, fig in FIGURES.items():
        flag = key.replace("_", "-")
        add.add_argument(f"--{flag}", dest=key, type=float, default=None, help=f"{fig.label} ({fig.unit})")
        add.add_argument(
            f"--{flag}-source",
            dest=f"{key}_source",
            default=None,
            help=f"where the {fig.label.lower()} comes from",
        )
    ls = cd_sub.add_parser("list", help="a user's cities with their own figures")
    ls.add_argument("--user", required=True)
    ls.add_argument("--format", choices=["text", "json"], default="text")
    rm = cd_sub.add_parser("remove", help="stop using a user's figures for a city")
    rm.add_argument("--user", required=True)
    rm.add_argument("--id", required=True, help="the id `city-data list` prints")
    cd.set_defaults(func=cmd_city_data)
