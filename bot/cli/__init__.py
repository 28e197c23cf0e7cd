"""The `loa` command line (`python -m bot`, the `loa` script = bot.cli:main): run,
migrate, check, and each feature's sub-commands — articles.py (import, digest, article
checks), feedback.py (export-feedback), ops.py (backup, restore, health, status, audit,
report).

Import direction: the top of the stack (domain ← store ← actions ← handlers / web /
workers ← app ← cli); nothing imports bot.cli except bot.__main__.

Start-up time: building the parser imports only the standard library, and each command
imports what it needs when it runs (`loa --help` < 0.3 s, `loa digest` < 0.5 s; issue 17,
BENCHMARKS.md "Performance"). Keep the top of these modules free of telegram, aiohttp,
aiosqlite, pydantic (bot.config), the store and matplotlib;
tests/test_startup_imports.py checks it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import UsageError, command, describe_os_error, owner_hint

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("loa")

Command = Callable[[argparse.Namespace, "Settings"], int]


WEBHOOK_MAX_BODY = 1 << 20  # bytes


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the bot: long polling, or a webhook when LOA_WEBHOOK_URL is set."""
    if not settings.webhook_url:
        # Long polling: tornado is PTB's optional webhook server (the "webhooks" extra),
        # which PTB imports when it is installed (~2.5 MB of an idle bot; issue 17). The
        # bot then runs as PTB does without that extra: marked absent, it is not imported.
        sys.modules.setdefault("tornado", None)  # type: ignore[arg-type]
    import asyncio

    from telegram import Update

    from bot.app import build_application, new_event_loop, tune_collector

    settings.token()  # fail with one line before anything starts
    asyncio.run(_preflight(settings))
    app = build_application(settings)
    tune_collector()
    # run_polling and run_webhook run on the current event loop (asyncio.get_event_loop).
    asyncio.set_event_loop(new_event_loop())
    if settings.webhook_url:
        # PTB's webhook server is tornado's HTTPServer; tornado's public Configurable API
        # sets its body limit for every instance: a request announcing more than 1 MiB is
        # refused before its body is read (issue 10; an update is a few kB at most).
        from tornado.httpserver import HTTPServer

        HTTPServer.configure(None, max_body_size=WEBHOOK_MAX_BODY)
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
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.config import TELEGRAM_API_URL, SettingsError
    from bot.store.db import Database
    from bot.tg.transport import AiohttpRequest

    # Both requests are aiohttp's: left out, PTB builds an httpx client for getUpdates,
    # which loads httpcore, anyio and a second SSL context into the bot for good (issue 17).
    bot = Bot(
        settings.token(),
        base_url=settings.bot_api_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    try:
        async with bot:
            pass  # initialize() calls getMe
    except InvalidToken:
        # PTB turns both 401 and 404 into InvalidToken (a 404 can also mean a wrong URL).
        raise SettingsError(
            f"LOA_BOT_TOKEN was rejected by the Bot API at {settings.bot_api_url}"
            " (check the token with @BotFather, and LOA_BOT_API_URL)"
        ) from None
    except NetworkError as exc:
        # Timeouts and refused or failed connections: usually the network, not a setting.
        raise SettingsError(
            f"cannot reach the Bot API at {settings.bot_api_url}: the network or the server"
            f" is down ({exc.message}). Check the connection"
            + (
                ""
                if settings.bot_api_url == TELEGRAM_API_URL
                else " and LOA_BOT_API_URL (it is not Telegram's default)"
            )
        ) from None
    except TelegramError as exc:
        raise SettingsError(
            f"LOA_BOT_API_URL: the Bot API at {settings.bot_api_url} answered with an error"
            f" ({exc.message})"
        ) from None
    # The database before the Application exists: a folder that cannot be created or
    # written is then one line naming it (a failing Application would leave sessions open).
    async with Database(settings.db_path):
        pass


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations and print the schema version."""
    import asyncio

    from bot.store.db import Database

    async def go() -> int:
        async with Database(settings.db_path) as db:
            return await db.schema_version()

    version = asyncio.run(go())
    print(f"schema version {version} ({settings.db_path})")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate settings and every content file; the token only when it is set (its shape
    was checked when the settings loaded), so editors can check content without it."""
    from bot.cli.articles import check_articles
    from bot.domain.directives import load_directives

    problems = check_articles(settings)
    problems += load_directives(settings.content_dir / "directives", settings.tz)[1]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"Có {len(problems)} lỗi trong các tệp nội dung (xem ở trên).", file=sys.stderr)
        return 1
    token = "đã đặt" if settings.bot_token else "chưa đặt (cần khi chạy bot)"
    print(f"Cấu hình và nội dung hợp lệ. LOA_BOT_TOKEN: {token}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="loa",
        description="Loa, the Telegram bot of the information and outreach office.",
        epilog="Settings come from LOA_* variables or .env (see .env.example).",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command(sub, "run", "start the bot (needs LOA_BOT_TOKEN)", "loa run").set_defaults(func=cmd_run)
    command(
        sub, "migrate", "apply database migrations and print the schema version", "loa migrate"
    ).set_defaults(func=cmd_migrate)
    command(
        sub,
        "check",
        "validate settings and content files (no bot token needed)",
        "LOA_CONTENT_DIR=content loa check",
    ).set_defaults(func=cmd_check)
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
    # Outreach (issue 16): briefing.
    from bot.cli.outreach import add_cli as add_outreach_cli

    add_outreach_cli(sub)
    return parser


class _Version(argparse.Action):
    """--version: read from the installed package only when asked (keeps start-up fast)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("loa")
        except PackageNotFoundError:  # running from a source tree that is not installed
            number = "unknown (not installed)"
        print(f"loa {number}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build Settings once, run the sub-command; errors are one line."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's usage error (exit 2)
        return exc.code if isinstance(exc.code, int) else 2
    reads = getattr(args, "reads_settings", None)
    if reads is not None and not settings_given(reads):
        # A command that reads only these settings, none of them set: their defaults,
        # without importing pydantic-settings and building Settings (~0.2 s of the 0.5 s
        # `loa digest` may take; issue 17). Set, they are validated by Settings as always.
        return _run(args, args.defaults())
    from bot.config import SettingsError, load_settings
    from bot.logs import setup_logging

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 2
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token else ""
    # One-shot commands print their result; their INFO log lines would say it twice.
    level = settings.log_level if args.command == "run" else _at_least_warning(settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    setup_logging(level, [token, secret], json_lines=settings.log_json, tz=settings.tz)
    return _run(args, settings)


def settings_given(names: Sequence[str]) -> bool:
    """True when one of these settings is set: LOA_<NAME> in the environment or in .env, in
    any letter case, as pydantic-settings reads them (any mention in .env counts)."""
    wanted = {f"loa_{name}".lower() for name in names}
    if any(key.lower() in wanted for key in os.environ):
        return True
    try:
        text = Path(".env").read_text(encoding="utf-8", errors="replace").lower()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # unreadable: let Settings report it
    return any(name in text for name in wanted)


def _run(args: argparse.Namespace, settings: Any) -> int:
    """Run the sub-command; errors are one line (a traceback only through the logs)."""
    try:
        return int(args.func(args, settings))
    except _one_line_errors() as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 2
    except sqlite3.OperationalError as exc:
        # "unable to open database file": the folder exists but is not writable.
        folder = settings.db_path.parent
        print(
            f"loa: database {settings.db_path} (LOA_DB_PATH): {exc}; {owner_hint(folder)}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        # A folder that cannot be created or written (a root-owned bind mount, a full
        # disk): the file and the fix in one line, not a traceback.
        print(f"loa: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Through the logging formatter, so the traceback has the token redacted.
        log.exception("loa %s failed", args.command)
        return 1


def _one_line_errors() -> tuple[type[Exception], ...]:
    """Errors printed as `loa: <message>`. Called only when an exception is raised (an
    except clause's expression is evaluated then): bot.config imports pydantic."""
    from bot.config import SettingsError

    return (SettingsError, UsageError)


def _at_least_warning(settings: Settings) -> str:
    """The configured level, raised to WARNING (DEBUG stays available for the bot run)."""
    order = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    return max(settings.log_level, "WARNING", key=order.index)
