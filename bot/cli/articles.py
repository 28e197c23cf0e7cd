"""`loa import`, `loa digest` and the article check of `loa check`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from bot.cli.common import add_force, command, day, progress
from bot.domain.clock import now
from bot.domain.errors import ContentError

if TYPE_CHECKING:
    from bot.config import Settings

# The article pipeline (yaml, pydantic, the figure patterns) is imported by the commands
# that use it, not by `loa --help` (bot.cli's docstring).

# How `loa digest` names each kind of key figure for editors.
FIGURE_KINDS_VI = {
    "period": "thời gian",
    "date": "ngày",
    "count": "số lượng",
    "money": "tiền",
    "percent": "tỷ lệ",
    "measure": "đo lường",
    "range": "khoảng",
    "ratio": "tỷ số",
}


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Convert raw article texts into content files under content/articles/."""
    from zoneinfo import ZoneInfo

    from bot.domain.articles import article_date, import_raw, render_article, split_raw
    from bot.store.articles import articles_dir

    out = Path(args.out) if args.out else articles_dir(settings.content_dir)
    today = dt.datetime.fromtimestamp(now(), ZoneInfo(settings.timezone)).date()
    out.mkdir(parents=True, exist_ok=True)
    if args.source and not args.source.startswith(("http://", "https://")):
        print("loa import: --source must be an http(s) URL", file=sys.stderr)
        return 2
    failures = 0
    for name in progress(args.files, desc="import"):
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
            date, how = args.date, "option"
            if date is None:
                date, how = article_date(split_raw(text), path.name, today)
            article = import_raw(text, name=path.name, date=date, source=args.source)
        except UnicodeDecodeError:
            print(f"{path}: not UTF-8 text (a binary file?)", file=sys.stderr)
            failures += 1
            continue
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            failures += 1
            continue
        except ValueError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        if how in ("lead-guess", "today"):
            basis = "the lead's day/month, latest such date" if how == "lead-guess" else "today"
            print(
                f"{path}: warning: date {article.date.isoformat()} is a guess ({basis});"
                " pass --date YYYY-MM-DD to set it",
                file=sys.stderr,
            )
        target = out / f"{article.id}.md"
        rendered = render_article(article)
        if target.exists() and not args.force:
            if target.read_text(encoding="utf-8") == rendered:
                print(f"{target} (unchanged)")
                continue
            print(f"{target}: exists; pass --force to overwrite it", file=sys.stderr)
            failures += 1
            continue
        target.write_text(rendered, encoding="utf-8")
        print(f"{target}")
    return 1 if failures else 0


def digest_json(path: Path, k: int, date: dt.date | None = None) -> dict[str, Any]:
    """The stable digest JSON of a content file or raw article text:
    {"title", "date" (YYYY-MM-DD or null), "summary": [sentences],
     "figures": [{"value", "qualifier", "subject", "kind", "sentence_index"}]}
    sentence_index counts the body's sentences from 0 (title, caption, byline excluded)."""
    from bot.domain.articles import digest, read_any

    article, parts = read_any(path, date=date)
    result = digest(parts.paragraphs, parts.title, k)
    return result.public(article, title=parts.title, date=None)


def digest_defaults() -> Any:
    """The settings `loa digest` reads, at their defaults (bot.cli.main uses them when none
    is set, instead of building Settings)."""
    from bot.domain.summary import SUMMARY_SENTENCES

    return SimpleNamespace(summary_sentences=SUMMARY_SENTENCES)


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    """Print an article's summary and key figures (for editors checking a draft)."""
    try:
        data = digest_json(Path(args.file), settings.summary_sentences, args.date)
    except ContentError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"{args.file}: not UTF-8 text (a binary file?)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(data["title"])
    day_text = (
        dt.date.fromisoformat(data["date"]).strftime("%d/%m/%Y") if data["date"] else "(chưa rõ)"
    )
    print(f"Ngày: {day_text}")
    print("\nTóm tắt:")
    for sentence in data["summary"]:
        print(f"  • {sentence}")
    print("\nSố liệu chính:")
    if not data["figures"]:
        print("  (không có)")
    for f in data["figures"]:
        qualifier = f"{f['qualifier']} " if f["qualifier"] else ""
        subject = f" — {f['subject']}" if f["subject"] else ""
        kind = FIGURE_KINDS_VI.get(f["kind"], f["kind"])
        print(f"  • {qualifier}{f['value']}{subject} ({kind}, câu thứ {f['sentence_index'] + 1})")
    return 0


def check_articles(settings: Settings) -> list[str]:
    """`loa check`: every broken article file as path:line: message."""
    from bot.domain.articles import load_directory
    from bot.store.articles import articles_dir

    _, errors = load_directory(articles_dir(settings.content_dir))
    return [str(e) for e in errors]


def add_cli(sub: Any) -> None:
    """Register the import and digest sub-commands."""
    p = command(
        sub,
        "import",
        "convert raw article text into content/articles/*.md",
        "loa import bai-viet.txt --date 08/04/2022 --source https://example.vn/bai-viet",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--date", type=day, help="article date (dd/mm/yyyy or yyyy-mm-dd)")
    p.add_argument("--source", help="URL of the original article")
    p.add_argument("--out", help="output folder (default: $LOA_CONTENT_DIR/articles)")
    add_force(p)
    p.set_defaults(func=cmd_import)
    d = command(
        sub,
        "digest",
        "print an article's summary and key figures as readers will see them",
        "loa digest content/articles/giao-ban.md",
    )
    d.add_argument("file", metavar="FILE", help="a content file or raw article text")
    d.add_argument("--json", action="store_true", help="stable JSON output")
    d.add_argument("--date", type=day, help="date for raw text without one (dd/mm/yyyy)")
    d.set_defaults(func=cmd_digest, reads_settings=("summary_sentences",), defaults=digest_defaults)
