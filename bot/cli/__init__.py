"""The `loa` command line (`python -m bot`, the `loa` script = bot.cli:main): run,
migrate, check, and each feature's sub-commands — articles.py (import, digest, article
checks), feedback.py (export-feedback), ops.py (backup, restore, health, status, audit,
report).

Import direction: the top of the stack (domain ← store ← actions ← handlers / web /
workers ← app ← cli); nothing imports bot.cli except bot.__main__.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings, SettingsError, load_settings
from bot.logs import setup_logging
from bot.store.db import Database

log = logging.getLogger("loa")

Command = Callable[[argparse.Namespace, Settings], int]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the bot: long polling, or a webhook when LOA_WEBHOOK_URL is set."""
    from telegram import Update

    from bot.app import build_application

    settings.token()  # fail with one line before anything starts
    asyncio.run(_preflight(settings))
    app = build_application(settings)
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        url_path = settings.webhook_url.split("://", 1)[-1].partition("/")[2]
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=url_path,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        # run_polling stops cleanly on SIGINT/SIGTERM (its default stop_signals).
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


async def _preflight(settings: Settings) -> None:
    """getMe once with a throw-away Bot: a rejected token or an unreachable API is one line."""
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    from bot.tg.transport import AiohttpRequest

    bot = Bot(settings.token(), base_url=settings.bot_api_url, request=AiohttpRequest())
    try:
        async with bot:
            pass  # initialize() calls getMe
    except InvalidToken:
        # PTB turns both 401 and 404 into InvalidToken (a 404 can also mean a wrong URL).
        raise SettingsError(
            f"LOA_BOT_TOKEN was rejected by the Bot API at {settings.bot_api_url}"
            " (check the token with @BotFather, and LOA_BOT_API_URL)"
        ) from None
    except TelegramError as exc:
        raise SettingsError(
            f"LOA_BOT_API_URL: cannot reach the Bot API at {settings.bot_api_url}"
            f" ({type(exc).__name__})"
        ) from None


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations and print the schema version."""

    async def go() -> int:
        async with Database(settings.db_path) as db:
            return await db.schema_version()

    version = asyncio.run(go())
    print(f"schema version {version} ({settings.db_path})")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate settings (the token included) and every content file."""
    settings.token()
    from bot.cli.articles import check_articles
    from bot.domain.directives import load_directives

    problems = check_articles(settings)
    problems += load_directives(settings.content_dir / "directives", settings.tz)[1]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("settings and content OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="loa", description="Loa, the Telegram bot of the information and outreach office."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the bot (needs LOA_BOT_TOKEN)").set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="apply database migrations and print the schema version")
    sub.choices["migrate"].set_defaults(func=cmd_migrate)
    sub.add_parser("check", help="validate settings and content files").set_defaults(func=cmd_check)
    # --- later features add their sub-commands below ---
    # Articles (issue 3): import, digest; article files in `loa check`.
    from bot.cli.articles import add_cli as add_articles_cli

    add_articles_cli(sub)
    # Feedback (issue 5): export-feedback.
    from bot.cli.feedback import add_cli as add_feedback_cli

    add_feedback_cli(sub)
    # Reports and operations (issue 6): backup, restore, health, status, audit, report.
    from bot.cli.ops import add_cli

    add_cli(sub)
    # Web console (issue 14): console-link.
    from bot.cli.console import add_cli as add_console_cli

    add_console_cli(sub)
    # Newsroom (issue 12): export-articles.
    from bot.cli.newsroom import add_cli as add_newsroom_cli

    add_newsroom_cli(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build Settings once, run the sub-command; errors are one line."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 2
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token else ""
    setup_logging(settings.log_level, [token], json_lines=settings.log_json)
    try:
        return int(args.func(args, settings))
    except SettingsError as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Through the logging formatter, so the traceback has the token redacted.
        log.exception("loa %s failed", args.command)
        return 1
