"""`loa import`, `loa digest` and the article check of `loa check`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.clock import now
from bot.domain.errors import ContentError

if TYPE_CHECKING:
    from bot.config import Settings

# The article pipeline (yaml, pydantic, the figure patterns) is imported by the commands
# that use it, not by `loa --help` (bot.cli's docstring).


def _date(value: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError("date must be YYYY-MM-DD or dd/mm/yyyy")


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
    for name in args.files:
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
            print(f"{target}: exists; pass --force to overwrite", file=sys.stderr)
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
    print(f"Ngày: {data['date'] or '(chưa rõ)'}")
    print("\nTóm tắt:")
    for sentence in data["summary"]:
        print(f"  {sentence}")
    print("\nSố liệu:")
    for f in data["figures"]:
        qualifier = f"{f['qualifier']} " if f["qualifier"] else ""
        print(
            f"  [{f['kind']}] {qualifier}{f['value']} — {f['subject']} (câu {f['sentence_index']})"
        )
    return 0


def check_articles(settings: Settings) -> list[str]:
    """`loa check`: every broken article file as path:line: message."""
    from bot.domain.articles import load_directory
    from bot.store.articles import articles_dir

    _, errors = load_directory(articles_dir(settings.content_dir))
    return [str(e) for e in errors]


def add_cli(sub: Any) -> None:
    """Register the import and digest sub-commands."""
    p = sub.add_parser("import", help="convert raw article text into content/articles/*.md")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--date", type=_date, help="article date (YYYY-MM-DD); else from name/text")
    p.add_argument("--source", help="URL of the original article")
    p.add_argument("--out", help="output folder (default: $LOA_CONTENT_DIR/articles)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=cmd_import)
    d = sub.add_parser("digest", help="print an article's summary and key figures")
    d.add_argument("file", metavar="FILE", help="a content file or raw article text")
    d.add_argument("--json", action="store_true", help="stable JSON output")
    d.add_argument("--date", type=_date, help="date for raw text without one")
    d.set_defaults(func=cmd_digest)
