"""Articles benchmark: 1,000 generated articles — load/index, digest per article, search.

    .venv/bin/python -m bench.content [--articles 1000] [--write]

Articles are generated from the labelled test set's paragraphs (tests/data/articles) with
shuffled paragraphs and fresh numbers, so they look like real ones (≈ 8–15 paragraphs).
--write replaces the "## Articles" section of BENCHMARKS.md with the figures.
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


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        latencies = []
        for _ in range(25):
            for q in QUERIES:
                t0 = time.perf_counter()
                await store.search(db, q, limit=5, offset=0)
                latencies.append((time.perf_counter() - t0) * 1000)
        await db.close()
    return {
        "articles": n,
        "chars_mean": statistics.mean(len(a.body) for a in articles),
        "digest_p50": _pct(times, 0.5),
        "digest_p99": _pct(times, 0.99),
        "digest_max": max(times),
        "index_s": index_s,
        "reindex_s": reindex_s,
        "search_p50": _pct(latencies, 0.5),
        "search_p95": _pct(latencies, 0.95),
        "search_p99": _pct(latencies, 0.99),
    }


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
| search (FTS5 MATCH + bm25 + count, 5 results), p50 | {r["search_p50"]:.2f} ms |
| search, p95 | {r["search_p95"]:.2f} ms |
| search, p99 | {r["search_p99"]:.2f} ms |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.articles))
    text = section(result)
    print(text)
    if args.write:
        write_section("Articles", text)


if __name__ == "__main__":
    main()
