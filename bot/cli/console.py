"""`loa console-link`: a one-time sign-in link to the web console (issue 14)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.common import command

if TYPE_CHECKING:
    from bot.config import Settings


def console_base_url(settings: Settings) -> str:
    """Where the browser reaches the console: LOA_WEB_URL, else the listening address."""
    if settings.web_url:
        return settings.web_url
    host = settings.web_listen if settings.web_listen not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.web_bind_port}"


def cmd_console_link(args: argparse.Namespace, settings: Settings) -> int:
    """Print a sign-in URL that works once, within ten minutes, for a staff member."""
    # Imported here: `loa --help` must not load the store (aiosqlite) or pydantic.
    import asyncio

    from bot.cli.ops import missing_database
    from bot.domain import clock
    from bot.services import Services
    from bot.store import web_sessions
    from bot.store.db import Database

    problem = missing_database(settings)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    user_id = args.user
    if user_id is None:
        if not settings.admin_ids:
            print("loa: console-link: give --user ID (LOA_ADMIN_IDS is empty)", file=sys.stderr)
            return 2
        user_id = min(settings.admin_ids)

    async def go() -> str | None:
        async with Database(settings.db_path) as db:
            if not await Services(settings=settings, db=db).may(user_id, "staff"):
                return None
            return await web_sessions.create_login(db, user_id, clock.now())

    token = asyncio.run(go())
    if token is None:
        print(f"loa: console-link: user {user_id} has no staff role", file=sys.stderr)
        return 1
    if not settings.web_enabled:
        print(
            "loa: note: the console is off until LOA_WEB_PORT or LOA_WEB_URL is set",
            file=sys.stderr,
        )
    minutes = web_sessions.LINK_TTL // 60
    print(f"{console_base_url(settings)}/login?t={token}")
    print(f"(one use, valid {minutes} minutes, signs in user {user_id})", file=sys.stderr)
    return 0


def add_cli(sub: Any) -> None:
    """Register `loa console-link`."""
    p = command(
        sub,
        "console-link",
        "print a one-time sign-in link to the web console (one use, 10 minutes)",
        "loa console-link --user 123456789",
    )
    p.add_argument("--user", type=int, default=None, help="Telegram user id (default: an owner)")
    p.set_defaults(func=cmd_console_link)
