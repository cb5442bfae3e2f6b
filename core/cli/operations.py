"""`python -m core users`, `webhook`, `sync` and `billing`: accounts, API keys, the webhook server, marketplace
syncs and Stripe reconciliation."""

from __future__ import annotations

import argparse
import json
import os
import sys

from core.cli.common import (
    Parser,
    database,
)


def cmd_users(args: argparse.Namespace) -> int:
    from core import accounts

    db = database()
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
    from core.accounts import syncs
    from core.settings import load_settings

    info = syncs.sync_stored(
        database(),
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

    for line in billing.sync(database(), load_settings()):
        print(line)
    return 0


def register(sub) -> None:
    """Add this group's commands to the parser's subcommands."""
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
