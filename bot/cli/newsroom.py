"""`loa export-articles DIR`: the articles published from Telegram as content files.

The files are what `loa import` writes and the bot indexes (front matter + paragraphs), so
the round trip DB → files → `loa check` holds. Put back into content/articles/ while the
database still holds them, they are reported as id clashes (never silently preferred).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import command

if TYPE_CHECKING:
    from bot.config import Settings


def cmd_export_articles(args: argparse.Namespace, settings: Settings) -> int:
    """Write every published database article as DIR/<id>.md."""
    # Imported here, not by `loa --help` (bot.cli's docstring).
    import asyncio

    from bot.domain.articles import render_article
    from bot.store.db import Database
    from bot.store.newsroom import database_articles

    async def load() -> list[Any]:
        async with Database(settings.db_path) as db:
            return await database_articles(db, include_withdrawn=args.all)

    out = Path(args.dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{out}: cannot create the folder: {exc.strerror or exc}", file=sys.stderr)
        return 1
    articles = asyncio.run(load())
    written = 0
    for article in articles:
        path = out / f"{article.id}.md"
        if path.exists() and not args.force:
            print(f"{path}: exists (use --force to overwrite)", file=sys.stderr)
            continue
        try:
            path.write_text(render_article(article), encoding="utf-8")
        except OSError as exc:
            print(f"{path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 1
        written += 1
    print(f"{written} article(s) written to {out}")
    return 0


def add_cli(sub: Any) -> None:
    """Register export-articles."""
    p = command(
        sub,
        "export-articles",
        "write articles published from Telegram as content files",
        "loa export-articles content/articles/",
    )
    p.add_argument("dir", metavar="DIR", help="output folder")
    p.add_argument("--all", action="store_true", help="include withdrawn articles")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_export_articles)
