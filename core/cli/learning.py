"""`python -m core calibrate`, `trends` and `validate`: learning from sales, search interest and real orders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import (
    add_shipping_payer_option,
    checked_out,
    database,
    write_table,
    write_text_atomic,
)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from core import calibration
    from core.errors import InputError
    from core.places.citydata import city_arrays_from_db
    from core.services.calibrations import CalibrationParams, calibrate

    checked_out(args.out), checked_out(args.report)
    path = Path(args.sales)
    if not path.is_file():
        raise InputError(f"no such file: {args.sales}")
    rows, measure = calibration.read_sales(path.read_bytes(), path.name, country=args.country)
    params = CalibrationParams(
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        shipping_paid_by=args.shipping_paid_by,
        countries=[c for c in (args.countries or "").split(",") if c.strip()],
        search_keyword=args.search_keyword,
    )
    db = database()
    result = calibrate(db, city_arrays_from_db(db), rows, measure, params, path.stem)
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
    db = database()
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
    ca = city_arrays_from_db(database())
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


def register(sub) -> None:
    """Add this group's commands to the parser's subcommands."""
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
