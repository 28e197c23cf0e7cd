"""Newsroom benchmark: an unchanged feeds cycle and a draft from a 5,000-word page.

    .venv/bin/python -m bench.newsroom [--feeds 200] [--items 50] [--write]

A separate process serves the feeds (RSS 2.0, 50 full-text items each) and the page, so the
CPU figures are the bot's alone (time.process_time of this process). Every item is already
known (feed_items seeded), as after the first poll; cycle 1 reads and parses every feed,
the measured cycles find them unchanged: with ETag (304), and without validators (a 200
whose body hash is the last one's), and re-stamped on every request (no new item
identity: feedparser is skipped). --write replaces the "## Newsroom" section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._sections import write_section
from bot.actions import newsroom as actions
from bot.config import load_settings
from bot.domain import clock
from bot.domain.articles import split_raw
from bot.services import Services
from bot.store import feeds as store
from bot.store.db import Database
from bot.workers.feeds import FeedWorker

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "articles"


def _paragraphs() -> list[str]:
    out: list[str] = []
    for path in sorted(DATA.glob("*.txt")):
        out.extend(split_raw(path.read_text(encoding="utf-8")).paragraphs)
    return out


def _feed(n: int, items: int, paragraphs: list[str]) -> bytes:
    entries = []
    for i in range(items):
        body = "".join(
            f"<p>{html.escape(paragraphs[(n + i + k) % len(paragraphs)])}</p>" for k in range(4)
        )
        entries.append(
            f'<item><guid isPermaLink="false">feed{n}-item{i}</guid><link>http://bench/{n}/{i}</link>'
            f"<title>Bài số {i} của nguồn {n}</title><description>{html.escape(body)}</description>"
            "<pubDate>Fri, 08 Apr 2022 09:15:00 +0700</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Nguồn</title>'
        f"<link>http://bench/</link><description>d</description>{''.join(entries)}</channel></rss>"
    ).encode()


def _page(words: int, paragraphs: list[str]) -> bytes:
    body: list[str] = []
    count = 0
    i = 0
    while count < words:
        p = paragraphs[i % len(paragraphs)]
        body.append(f"<p>{html.escape(p)}</p>")
        count += len(p.split())
        i += 1
    nav = "".join(f'<li><a href="/m/{k}">Chuyên mục {k}</a></li>' for k in range(30))
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Bài dài</title>'
        '<meta property="article:published_time" content="2022-04-08T09:15:00+07:00"></head>'
        f"<body><nav><ul>{nav}</ul></nav><article><h1>Báo cáo tổng kết công tác tuyên giáo"
        f" năm 2022 của tỉnh</h1>{''.join(body)}</article><footer>Bản quyền</footer></body></html>"
    ).encode()


def _serve(port_queue: Any, feeds: int, items: int, words: int) -> None:
    from aiohttp import web

    paragraphs = _paragraphs()
    bodies = {f"/f/{n}.xml": _feed(n, items, paragraphs) for n in range(feeds)}
    page = _page(words, paragraphs)

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/page.html":
            return web.Response(body=page, content_type="text/html", charset="utf-8")
        body = bodies[request.path]
        if request.query.get("stamp") == "1":  # a CMS re-stamping the feed on every request
            stamp = f"<lastBuildDate>{time.time()}</lastBuildDate>".encode()
            body = body.replace(b"<channel>", b"<channel>" + stamp, 1)
        if request.query.get("etag") == "1":
            tag = f'"{len(body)}-{request.path}"'
            if request.headers.get("If-None-Match") == tag:
                return web.Response(status=304)
            return web.Response(
                body=body, content_type="application/rss+xml", headers={"ETag": tag}
            )
        return web.Response(body=body, content_type="application/rss+xml")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


async def _cycle(worker: FeedWorker) -> tuple[float, float, int]:
    await worker.svc.db.execute("UPDATE feeds SET next_poll_at = 0")
    cpu, wall = time.process_time(), time.perf_counter()
    results = await worker.poll_due(concurrency=16)
    return time.process_time() - cpu, time.perf_counter() - wall, len(results)


async def run(feeds: int, items: int, words: int, base: str) -> dict[str, float]:
    out: dict[str, float] = {"feeds": feeds, "items": items, "words": words}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            db_path=Path(tmp) / "loa.db",
            fetch_allow_private=True,
            fetch_max_bytes=20_000_000,
            _env_file=None,
        )
        db = Database(settings.db_path)
        await db.open()
        svc = Services(settings=settings, db=db)
        worker = FeedWorker(svc)
        try:
            for variant, query in (("etag", "?etag=1"), ("hash", ""), ("stamp", "?stamp=1")):
                await worker.stop()
                worker = FeedWorker(svc)  # fresh: its first cycle parses every feed
                await db.execute("DELETE FROM feed_items")
                await db.execute("DELETE FROM feeds")
                for n in range(feeds):
                    fid = await store.add_feed(
                        db,
                        f"{base}/f/{n}.xml{query}",
                        topic=None,
                        mode="duyet",
                        actor_id=None,
                        actor_role=None,
                        now=clock.now(),
                    )
                    await db.executemany(
                        "INSERT INTO feed_items (feed_id, item_key, checksum, seen_at)"
                        " VALUES (?, ?, '', 0)",
                        [(fid, f"feed{n}-item{i}") for i in range(items)],
                    )
                cpu1, wall1, n1 = await _cycle(worker)
                assert n1 == feeds
                runs = [await _cycle(worker) for _ in range(3)]
                out[f"{variant}_first_cpu"] = cpu1
                out[f"{variant}_first_wall"] = wall1
                out[f"{variant}_cpu"] = statistics.median(r[0] for r in runs)
                out[f"{variant}_cpu_max"] = max(r[0] for r in runs)
                out[f"{variant}_wall"] = statistics.median(r[1] for r in runs)
            drafts = []
            for _ in range(5):
                cpu, wall = time.process_time(), time.perf_counter()
                await actions.draft_from_url(svc, f"{base}/page.html", None)
                drafts.append((time.perf_counter() - wall, time.process_time() - cpu))
            out["draft_wall"] = statistics.median(d[0] for d in drafts[1:])
            out["draft_wall_max"] = max(d[0] for d in drafts[1:])
            out["draft_wall_first"] = drafts[0][0]
            out["draft_cpu"] = statistics.median(d[1] for d in drafts[1:])
        finally:
            await worker.stop()
            await db.close()
    return out


def section(r: dict[str, float]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows = [
        (
            "unchanged cycle, ETag → 304: CPU (median of 3; max)",
            f"{r['etag_cpu']:.2f} s ({r['etag_cpu_max']:.2f} s)",
            "< 1 s",
        ),
        ("unchanged cycle, ETag → 304: wall", f"{r['etag_wall']:.2f} s", ""),
        (
            "unchanged cycle, no validators (200, same body hash): CPU (median; max)",
            f"{r['hash_cpu']:.2f} s ({r['hash_cpu_max']:.2f} s)",
            "< 1 s",
        ),
        ("unchanged cycle, no validators: wall", f"{r['hash_wall']:.2f} s", ""),
        (
            "no new item, body re-stamped on every request (lastBuildDate): CPU (median; max)",
            f"{r['stamp_cpu']:.2f} s ({r['stamp_cpu_max']:.2f} s)",
            "< 1 s",
        ),
        (
            "cycle with every body new but every item known (feedparser on all): CPU",
            f"{r['hash_first_cpu']:.2f} s",
            "",
        ),
        (
            f"draft from a {int(r['words'])}-word page (fetch + extract + digest + store),"
            " median of 4",
            f"{r['draft_wall']:.2f} s (max {r['draft_wall_max']:.2f} s;"
            f" CPU {r['draft_cpu']:.2f} s)",
            "< 1 s",
        ),
        (
            "the same, first call of the process (imports, lxml warm-up)",
            f"{r['draft_wall_first']:.2f} s",
            "",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return f"""## Newsroom

`python -m bench.newsroom --write` ({machine}; shared, noisy machine). The feeds are
served by another process, so CPU is the bot's alone. {int(r["feeds"])} feeds ×
{int(r["items"])} full-text items, every item already known.

| what | figure | target |
| --- | --- | --- |
{table}

Wall time well above CPU time means the process waited for one of the 2 shared cores (other
test suites were running); the CPU column is the cost Loa itself pays. Parsing is done in a
thread (asyncio.to_thread), so replies keep flowing while a feed or a page is parsed.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=_serve, args=(ports, args.feeds, args.items, args.words), daemon=True
    )
    server.start()
    try:
        port = ports.get(timeout=60)
        result = asyncio.run(run(args.feeds, args.items, args.words, f"http://127.0.0.1:{port}"))
    finally:
        server.terminate()
    text = section(result)
    print(text)
    if args.write:
        write_section("Newsroom", text)


if __name__ == "__main__":
    main()
