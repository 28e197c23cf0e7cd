"""Articles benchmark: 1,000 generated articles — load/index, digest per article, search.

    .venv/bin/python -m bench.content [--articles 1000] [--write]
    .venv/bin/python -m bench.content --articles 10000 --search-only /tmp/loa-search

Articles are generated from the labelled test set's paragraphs (tests/data/articles) with
shuffled paragraphs and fresh numbers, so they look like real ones (≈ 8–15 paragraphs).
--write replaces the "## Articles" section of BENCHMARKS.md with the figures.
--search-only keeps the generated index in a folder and measures search only (to compare
two versions of the search code on one index).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench._sections import write_section
from bot.domain.articles import Article, digest, render_article, split_raw
from bot.domain.text import fold
from bot.store import articles as store
from bot.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "articles"
QUERIES = [
    "tuyen giao",
    "Thành ủy",
    "dang vien",
    "ngan sach tang",
    "lua xuan nang suat",
    "du lich",
    "khong co tu nay",
    "giao thong tai nan quy",
]
UNSEEN = 400  # distinct new queries (unseen_queries)


def _pool() -> tuple[list[str], list[str]]:
    titles: list[str] = []
    paragraphs: list[str] = []
    for path in sorted(DATA.glob("*.txt")):
        parts = split_raw(path.read_text(encoding="utf-8"))
        titles.append(parts.title)
        paragraphs.extend(parts.paragraphs)
    return titles, paragraphs


def _renumber(text: str, rng: random.Random) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = m.group(0)
        if "/" in digits or len(digits.replace(".", "").replace(",", "")) >= 4:
            return digits
        return str(rng.randint(2, 999))

    return re.sub(r"(?<![\w/.,-])\d{1,3}(?![\w/.,-])", repl, text)


def generate(n: int, folder: Path, seed: int = 7) -> list[Article]:
    """Write n article files into folder; return them."""
    rng = random.Random(seed)
    titles, paragraphs = _pool()
    folder.mkdir(parents=True, exist_ok=True)
    articles = []
    for i in range(n):
        body = [_renumber(p, rng) for p in rng.sample(paragraphs, rng.randint(8, 15))]
        day = 1 + i % 28
        article = Article(
            id=f"bai-{i:04d}",
            title=f"{rng.choice(titles)} ({i})",
            date=__import__("datetime").date(2020 + i % 5, 1 + i % 12, day),
            author="Phóng viên",
            caption=None,
            source=None,
            tags=(),
            unit=None,
            paragraphs=tuple(body),
        )
        (folder / f"{article.id}.md").write_text(render_article(article), encoding="utf-8")
        articles.append(article)
    return articles


def unseen_queries(articles: list[Article], n: int, seed: int = 11) -> list[str]:
    """n distinct queries nobody searched yet: 1-3 consecutive words of a random article's
    title or paragraph (what a reader types after seeing a headline), half of them typed
    without diacritics. Common words come up as often as they do in articles."""
    rng = random.Random(seed)
    found: list[str] = []
    seen: set[str] = set(QUERIES)
    while len(found) < n:
        a = rng.choice(articles)
        words = re.findall(r"[^\W_]+", rng.choice([a.title, *a.paragraphs]))
        if not words:
            continue
        size = rng.choice((1, 2, 2, 3))
        start = rng.randrange(max(1, len(words) - size + 1))
        query = " ".join(words[start : start + size])
        if rng.random() < 0.5:
            query = fold(query)
        if query.lower() not in seen:
            seen.add(query.lower())
            found.append(query)
    return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def typed_prefixes(queries: list[str], seed: int = 5) -> list[str]:
    """Search-as-you-type (inline mode, the console): each query with its last word cut
    after a random number of letters, as sent while the word is being typed."""
    rng = random.Random(seed)
    typed = []
    for q in queries:
        words = q.split()
        last = words[-1]
        typed.append(" ".join([*words[:-1], last[: rng.randint(1, len(last))]]))
    return typed


async def _timed(db: Database, queries: list[str], *, prefix: bool = False) -> list[float]:
    latencies = []
    for q in queries:
        t0 = time.perf_counter()
        await store.search(db, q, limit=5, offset=0, prefix=prefix)
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


async def search_figures(db: Database, articles: list[Article]) -> dict[str, float]:
    """Search latencies: the 8 QUERIES 25 times (repeats: answered from the per-query
    cache), UNSEEN queries never searched before, and the same typed as a prefix."""
    repeated = await _timed(db, QUERIES * 25)
    # Queries not seen since the index last changed: nothing cached can answer them.
    fresh = unseen_queries(articles, UNSEEN)
    unseen = await _timed(db, fresh)
    typing = await _timed(db, typed_prefixes(fresh), prefix=True)
    figures = {}
    for name, values in (("search", repeated), ("unseen", unseen), ("prefix", typing)):
        for q in (50, 95, 99):
            figures[f"{name}_p{q}"] = _pct(values, q / 100)
    return figures


async def run(n: int) -> dict[str, float]:
    """Measure everything; return the figures (milliseconds unless named otherwise)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "content" / "articles"
        articles = generate(n, folder)
        # digest per article (summary + figures), pure CPU
        times = []
        for a in articles:
            t0 = time.perf_counter()
            digest(a.paragraphs, a.title, 3)
            times.append((time.perf_counter() - t0) * 1000)
        db = Database(Path(tmp) / "bench.db")
        await db.open()
        t0 = time.perf_counter()
        result = await store.sync(db, folder, summary_sentences=3, now=0)
        index_s = time.perf_counter() - t0
        assert result.total == n, result
        t0 = time.perf_counter()
        again = await store.sync(db, folder, summary_sentences=3, now=0)
        reindex_s = time.perf_counter() - t0
        assert again.unchanged == n
        searched = await search_figures(db, articles)
        await db.close()
    return {
        "articles": n,
        "chars_mean": statistics.mean(len(a.body) for a in articles),
        "digest_p50": _pct(times, 0.5),
        "digest_p99": _pct(times, 0.99),
        "digest_max": max(times),
        "index_s": index_s,
        "reindex_s": reindex_s,
        **searched,
    }


async def search_only(n: int, folder: Path) -> dict[str, float]:
    """Only the search figures, on articles generated and indexed into `folder` once and
    kept (the first run takes minutes at 10,000 articles; later ones re-sync unchanged
    files in seconds): to compare two versions of the search code on the same index."""
    articles = generate(n, folder / "content" / "articles")
    async with Database(folder / "bench.db") as db:
        result = await store.sync(db, folder / "content" / "articles", summary_sentences=3, now=0)
        assert result.total == n, result
        return {"articles": n, **await search_figures(db, articles)}


def _ms(r: dict[str, float], name: str) -> str:
    return " / ".join(f"{r[f'{name}_p{q}']:.2f}" for q in (50, 95, 99)) + " ms"


def section(r: dict[str, float]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return f"""## Articles

`python -m bench.content --write` ({machine}; shared, noisy machine — read as orders of magnitude).
{int(r["articles"])} generated articles (paragraphs of the labelled test set, shuffled and
renumbered; mean {r["chars_mean"]:.0f} characters).

| what | figure |
| --- | --- |
| digest (sentences + summary + figures) per article, p50 | {r["digest_p50"]:.2f} ms |
| digest per article, p99 | {r["digest_p99"]:.2f} ms |
| digest per article, max | {r["digest_max"]:.2f} ms |
| first load + digest + index of all files into SQLite/FTS5 | {r["index_s"]:.2f} s |
| re-sync with nothing changed (checksums only) | {r["reindex_s"]:.2f} s |
| search (MATCH + bm25 + count, 5 results), 8 queries × 25, p50 / p95 / p99 | {_ms(r, "search")} |
| search, {UNSEEN} queries never searched before, p50 / p95 / p99 | {_ms(r, "unseen")} |
| the same typed (last word cut short, as a prefix), p50 / p95 / p99 | {_ms(r, "prefix")} |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--search-only",
        type=Path,
        metavar="DIR",
        help="only the search figures, on an index kept in DIR (built on first use)",
    )
    args = parser.parse_args()
    if args.search_only:
        figures = asyncio.run(search_only(args.articles, args.search_only))
        print("\n".join(f"{k}: {v:.2f}" for k, v in figures.items()))
        return
    result = asyncio.run(run(args.articles))
    text = section(result)
    print(text)
    if args.write:
        write_section("Articles", text)


if __name__ == "__main__":
    main()
