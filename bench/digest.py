"""Digest benchmark: time per article of `digest()` (sentences + figures + summary) over the
labelled evaluation sets, and their quality figures.

    .venv/bin/python -m bench.digest [--rounds 30] [--write]

Every article of tests/data/articles*/ is imported once; digest() then runs on each of them
`rounds` times (after one warm-up round), one timing per call. p50/p99/max are over all
calls. --write replaces the "## Digest" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time

from bench._sections import write_section
from bot.domain.articles import digest, import_raw
from tests.test_articles_eval import SETS, evaluate, report


def _articles() -> list[tuple[str, tuple[str, ...]]]:
    result = []
    for folder in SETS.values():
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        for name, label in sorted(labels.items()):
            raw = (folder / name).read_text(encoding="utf-8")
            a = import_raw(raw, name=name, date=dt.date.fromisoformat(label["date"]))
            result.append((a.title, a.paragraphs))
    return result


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(rounds: int) -> dict[str, float]:
    """Time digest() per article; milliseconds."""
    articles = _articles()
    for title, paragraphs in articles:  # warm-up (regex compilation, fold table)
        digest(paragraphs, title, 3)
    times = []
    for _ in range(rounds):
        for title, paragraphs in articles:
            t0 = time.perf_counter()
            digest(paragraphs, title, 3)
            times.append((time.perf_counter() - t0) * 1000)
    return {
        "articles": len(articles),
        "calls": len(times),
        "chars_mean": sum(len("\n".join(p)) for _, p in articles) / len(articles),
        "p50": _pct(times, 0.5),
        "p99": _pct(times, 0.99),
        "max": max(times),
    }


def section(r: dict[str, float]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    quality = "\n".join(
        f"    {key:13s} {report(evaluate(data=folder))}" for key, folder in SETS.items()
    )
    return f"""## Digest

`python -m bench.digest --write` ({machine}; shared, noisy machine — read as orders of
magnitude). {int(r["articles"])} labelled articles of every evaluation set (mean
{r["chars_mean"]:.0f} characters), {int(r["calls"])} timed calls of `digest()` (sentences +
figures + summary), budget p99 < 50 ms.

| what | figure |
| --- | --- |
| digest per article, p50 | {r["p50"]:.2f} ms |
| digest per article, p99 | {r["p99"]:.2f} ms |
| digest per article, max | {r["max"]:.2f} ms |

Quality on the same sets (`python -m tests.test_articles_eval`; dev/heldout are the
source-styled sets with subject noun phrases and roles, old* the earlier keyword-labelled
sets, whose empty subject labels for dates and periods now score 0 against a role):

{quality}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    text = section(run(args.rounds))
    print(text)
    if args.write:
        write_section("Digest", text)


if __name__ == "__main__":
    main()
