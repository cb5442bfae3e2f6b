"""`python -m agents run ...`: run the five agents for a product and print their structured results."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from core.cli.commands import EXIT_BAD_INPUT, Parser, add_shipping_payer_option
from core.errors import AppError


def to_markdown(product: dict, results: dict[str, dict]) -> str:
    lines = [f"# Agent report: {product['name']}", ""]
    for agent, out in results.items():
        lines += [f"## {agent.replace('_', ' ').title()}", ""]
        if "error" in out:
            lines += [f"Failed: {out['error']}", ""]
            continue
        narrative = out.get("narrative", {})
        for key, value in narrative.items():
            if isinstance(value, str):
                lines += [value, ""]
            elif isinstance(value, list):
                lines += [f"**{key.replace('_', ' ')}**", ""]
                lines += [
                    f"- {'; '.join(f'{k}: {x}' for k, x in v.items()) if isinstance(v, dict) else v}"
                    for v in value
                ]
                lines.append("")
        lines.append(f"_writer: {out.get('writer')}, {out.get('duration_ms', 0):.0f} ms_")
        lines += [f"> notice: {n}" for n in out.get("notices", [])]
        lines.append("")
    return "\n".join(lines)


def build_parser() -> Parser:
    parser = Parser(prog="python -m agents", description="Run the five agents for a product")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run the agents")
    run.add_argument("--name", required=True)
    run.add_argument("--category", required=True)
    run.add_argument("--price", required=True, type=float)
    run.add_argument("--unit-cost", required=True, type=float)
    run.add_argument("--description", default="")
    run.add_argument("--target-ages", default=None)
    run.add_argument("--ships-from", default=None)
    add_shipping_payer_option(run)
    run.add_argument("--countries", default=None)
    run.add_argument("--budget", type=float, default=None, help="monthly ad budget, USD")
    run.add_argument("--depth", choices=["summary", "detailed", "full"], default="full")
    run.add_argument(
        "--cities",
        type=int,
        default=None,
        help="how many of the ranking's top cities every agent works on (default and most: 20)",
    )
    run.add_argument("--format", choices=["json", "md"], default="json")
    run.add_argument("--out", default=None)
    return parser


def _run(args):
    """(product, results, out path) for the parsed arguments; AppError on bad input."""
    from agents.context import AgentContext
    from agents.runner import run_agents
    from agents.writers import make_writer
    from core.cli.commands import checked_out
    from core.db.database import Database
    from core.forecast import resolve_origin, scope_mask, validate_product
    from core.places.citydata import city_arrays_from_db
    from core.settings import load_settings

    out = checked_out(args.out)
    if args.budget is not None and args.budget <= 0:
        raise AppError("budget: the monthly ad budget must be above zero")
    product = validate_product(
        name=args.name,
        description=args.description,
        category=args.category,
        price=args.price,
        unit_cost=args.unit_cost,
        target_ages=args.target_ages,
        ships_from=args.ships_from,
        shipping_paid_by=args.shipping_paid_by,
    )
    settings = load_settings()
    ca = city_arrays_from_db(Database(settings.database_url, create=False))
    resolve_origin(product.ships_from, ca)
    countries = [c for c in (args.countries or "").split(",") if c.strip()] or None
    scope_mask(ca, countries)
    ctx = AgentContext(ca, make_writer(settings))
    if args.cities is not None and args.cities < 1:
        raise AppError("cities: give at least 1")
    request = {
        "product": product.model_dump(mode="json"),
        "countries": countries,
        "budget": args.budget,
        "depth": args.depth,
        "cities": args.cities,
    }
    results = run_agents(ctx, request)

    return product, results, out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from core.cli.commands import write_text_atomic

        product, results, out = _run(args)
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = (
        json.dumps(results, indent=2, ensure_ascii=False)
        if args.format == "json"
        else to_markdown(product.model_dump(), results)
    )
    if out is not None:
        try:
            write_text_atomic(out, text + "\n")
        except AppError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
