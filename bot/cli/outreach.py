"""`loa briefing --quarter 2022-Q1 [-o FILE]` (issue 16): the quarterly briefing draft."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import command
from bot.domain.errors import InvalidInput

if TYPE_CHECKING:
    from bot.config import Settings


def cmd_briefing(args: argparse.Namespace, settings: Settings) -> int:
    """Write the quarter's briefing draft (default: <content>/drafts/<quarter>-bao-cao-quy.md)."""
    from bot.actions.briefing import Written, parse_quarter, write_briefing
    from bot.cli.ops import DatabaseUnavailable, _run_read_only
    from bot.store.db import Database

    try:
        period = parse_quarter(args.quarter, datetime.now(settings.tz).date())
    except InvalidInput as exc:
        print(f"loa: --quarter: {exc.user_message}", file=sys.stderr)
        return 2
    out = Path(args.output) if args.output else None

    async def work(db: Database) -> Written:
        return await write_briefing(db, settings, period, out)

    try:
        written: Written = _run_read_only(settings, work)
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"loa: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"briefing {period.label} written to {written.path}")
    return 0


def add_cli(sub: Any) -> None:
    """Register `briefing` under `loa`."""
    p = command(
        sub,
        "briefing",
        "draft article of a quarter's outreach work",
        "loa briefing --quarter 2022-Q1 -o content/drafts/quy-1-2022.md",
    )
    p.add_argument("--quarter", required=True, help="e.g. 2022-Q1 or 'quý I/2022'")
    p.add_argument("-o", "--output", default=None, help="file to write (default: content/drafts/)")
    p.set_defaults(func=cmd_briefing)
