"""`loa export-feedback`: the comments of a period as .xlsx or CSV, without the bot running."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import add_force, command, day, output_file, progress

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain.spreadsheets import Format
    from bot.store.db import Database

# The store (aiosqlite) is imported by the command, not by `loa --help` (bot.cli).


def add_cli(sub: Any) -> None:
    """Register the export-feedback sub-command."""
    p = command(
        sub,
        "export-feedback",
        "export the comments of a period for Excel (.xlsx, or CSV by the file name; masked text)",
        "loa export-feedback --from 01/04/2022 --to 30/06/2022 -o y-kien-quy-2.xlsx",
    )
    p.add_argument("--from", dest="start", type=day, help="first day, dd/mm/yyyy or yyyy-mm-dd")
    p.add_argument("--to", dest="end", type=day, help="last day (inclusive), same forms")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="file to write: NAME.xlsx (Excel) or NAME.csv (UTF-8 with BOM); '-' = CSV on stdout",
    )
    p.add_argument(
        "--all", action="store_true", help="include rejected and deleted comments as well"
    )
    add_force(p)
    p.set_defaults(func=cmd_export_feedback)


async def _titles(db: Database, ids: set[str]) -> dict[str, str]:
    """Article titles from the articles table when it exists (read-only, optional)."""
    if not ids:
        return {}
    columns = await db.fetch_all("SELECT name FROM pragma_table_info('articles')")
    if "title" not in {r[0] for r in columns}:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetch_all(f"SELECT id, title FROM articles WHERE id IN ({marks})", list(ids))
    return {str(r[0]): str(r[1]) for r in rows}


async def export(
    settings: Settings,
    start: dt.date | None,
    end: dt.date | None,
    include_all: bool,
    fmt: Format = "csv",
) -> tuple[bytes, int]:
    """The file's bytes and the number of comments for the period."""
    from bot.domain import feedback as rules
    from bot.store import feedback as store
    from bot.store.db import Database

    lo, hi = rules.day_range(start, end, settings.tz)
    async with Database(settings.db_path) as db:
        rows = await store.export_rows(db, lo, hi, include_all)
        titles = await _titles(db, {r.article_id for r in rows if r.article_id})
    lines = [
        store.export_line(r, titles.get(r.article_id or ""), settings.tz)
        for r in progress(rows, desc="comments")
    ]
    return rules.export_file(lines, fmt), len(rows)


def cmd_export_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """Write the file; one line on stderr says how many comments and where."""
    import asyncio

    from bot.domain.errors import InvalidInput

    fmt: Format = "xlsx" if str(args.output).lower().endswith(".xlsx") else "csv"
    if args.output != "-":
        output_file(args.output, force=args.force)
    try:
        data, count = asyncio.run(export(settings, args.start, args.end, args.all, fmt))
    except InvalidInput as exc:  # the period ends before it starts
        print(f"loa: --from/--to: {exc.user_message}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
    scope = "all comments" if args.all else "rejected/deleted excluded"
    print(f"{count} comment(s) exported to {args.output} ({scope})", file=sys.stderr)
    return 0
