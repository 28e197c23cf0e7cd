"""`loa export-feedback`: the comments of a period as CSV, without the bot running."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.db import Database


def add_cli(sub: Any) -> None:
    """Register the export-feedback sub-command."""
    p = sub.add_parser(
        "export-feedback",
        help="export comments of a period as CSV (UTF-8 with BOM; masked text)",
    )
    p.add_argument("--from", dest="start", help="first day, yyyy-mm-dd or dd/mm/yyyy")
    p.add_argument("--to", dest="end", help="last day (inclusive), yyyy-mm-dd or dd/mm/yyyy")
    p.add_argument("-o", "--output", required=True, help="CSV file to write ('-' for stdout)")
    p.add_argument(
        "--all", action="store_true", help="include rejected and deleted comments as well"
    )
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
    settings: Settings, start: str | None, end: str | None, include_all: bool
) -> tuple[bytes, int]:
    """CSV bytes and the number of comments for the period."""
    from bot.domain import feedback as rules
    from bot.store import feedback as store
    from bot.store.db import Database

    lo, hi = rules.day_range(
        rules.parse_day(start) if start else None,
        rules.parse_day(end) if end else None,
        settings.tz,
    )
    async with Database(settings.db_path) as db:
        rows = await store.export_rows(db, lo, hi, include_all)
        titles = await _titles(db, {r.article_id for r in rows if r.article_id})
    lines = [store.export_line(r, titles.get(r.article_id or ""), settings.tz) for r in rows]
    return rules.export_csv(lines), len(rows)


def cmd_export_feedback(args: argparse.Namespace, settings: Settings) -> int:
    """Write the CSV; one line on stderr says how many comments and where."""
    import asyncio

    from bot.domain.errors import InvalidInput

    try:
        data, count = asyncio.run(export(settings, args.start, args.end, args.all))
    except InvalidInput as exc:
        print(f"loa: {exc.user_message}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
    scope = "all comments" if args.all else "rejected/deleted excluded"
    print(f"{count} comment(s) exported to {args.output} ({scope})", file=sys.stderr)
    return 0
