"""Web console benchmark: every page and API call against a big office's database.

    .venv/bin/python -m bench.console [--subscribers 100000] [--deliveries 300000]
                                      [--repeat 20] [--write]

The database gets `--subscribers` subscribed chats (2% groups in 20 units), broadcasts
with `--deliveries` delivery rows in all, a directive with acknowledgements, 20,000
comments and 50,000 audit entries. The real bot (against the fake Bot API) serves the
console; each route is requested `--repeat` times in turn with signed initData (the
server's real check runs) and p50/p95 are reported (target: p95 < 300 ms). Then the
bot's reply time to /help is measured alone and while a client hammers the console, to
show the console does not delay the bot. Exports (every row of the biggest broadcast) are
timed apart: they are downloads, not pages.

--write replaces the "## Web console" section of BENCHMARKS.md with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.store.db import Database
from bot.web.server import INIT_DATA_HEADER
from tests.console_support import init_data
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN, make_settings, start_bot, stop_bot

ROOT = Path(__file__).resolve().parent.parent
OWNER = 42
UNITS = [f"phuong-{i:02d}" for i in range(20)]


def populate(path: Path, subscribers: int, deliveries: int) -> dict[str, int]:
    """Fill the database with plain SQL (set-up only; the console reads it as usual)."""
    now = int(time.time())
    rnd = random.Random(14)
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    groups = max(1, subscribers // 50)
    chats = []
    subs = []
    for i in range(subscribers):
        is_group = i < groups
        cid = -(10**12) - i if is_group else 10**6 + i
        chats.append((cid, "supergroup" if is_group else "private", f"Chat {i}", now, now))
        approval = "approved" if is_group and i % 4 else ("pending" if is_group else "none")
        subs.append(
            (
                cid,
                "cadre" if approval == "approved" else "public",
                approval,
                UNITS[i % len(UNITS)] if is_group else None,
                now - rnd.randint(0, 200 * 86400),
            )
        )
    conn.executemany(
        "INSERT INTO chats (id, type, title, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)", chats
    )
    conn.executemany(
        "INSERT INTO subscriptions (chat_id, active, audience, approval, unit, created_at,"
        " updated_at) VALUES (?, 1, ?, ?, ?, ?, ?)",
        [(*s, s[-1]) for s in subs],
    )
    chat_ids = [c[0] for c in chats]
    group_ids = chat_ids[:groups]
    directive = conn.execute(
        "INSERT INTO broadcasts (kind, state, title, body, parts, audience, cadre_only, cadre_ok,"
        " with_ack, created_at, total) VALUES ('directive', 'done', 'Chỉ đạo quý', 'x', '[\"x\"]',"
        " 'cadre', 1, 1, 1, ?, ?)",
        (now - 86400, len(group_ids)),
    ).lastrowid
    rows = [
        (directive, cid, "sent", now - 86000) for cid in group_ids
    ]  # the directive reaches every group
    left = deliveries - len(rows)
    broadcast_ids = [int(directive or 0)]
    while left > 0:
        n = min(left, len(chat_ids))
        bid = conn.execute(
            "INSERT INTO broadcasts (kind, state, body, parts, audience, created_at, total)"
            " VALUES ('announcement', 'done', ?, '[\"x\"]', 'all', ?, ?)",
            (f"Thông báo số {len(broadcast_ids)}", now - 3600 * len(broadcast_ids), n),
        ).lastrowid
        broadcast_ids.append(int(bid or 0))
        for cid in chat_ids[:n]:
            r = rnd.random()
            state = "sent" if r < 0.96 else ("failed" if r < 0.99 else "blocked")
            rows.append((bid, cid, state, now - rnd.randint(0, 3600)))
        left -= n
    conn.executemany(
        "INSERT INTO deliveries (broadcast_id, chat_id, state, sent_at, updated_at, last_error)"
        " VALUES (?, ?, ?, ?, ?, CASE WHEN ? = 'sent' THEN NULL ELSE 'bot was blocked' END)",
        [(b, c, s, t, t, s) for b, c, s, t in rows],
    )
    conn.executemany(
        "INSERT INTO acks (broadcast_id, chat_id, user_id, at) VALUES (?, ?, NULL, ?)",
        [(directive, cid, now - 80000) for cid in group_ids[: len(group_ids) * 3 // 4]],
    )
    statuses = ["received", "approved", "rejected", "answered"]
    conn.executemany(
        "INSERT INTO comments (user_id, chat_id, user_name, text_masked, dup_key, status,"
        " created_at, notified_at) VALUES (?, ?, 'Dân', ?, ?, ?, ?, 0)",
        [
            (
                10**6 + i,
                10**6 + i,
                f"Ý kiến số {i} về đường liên thôn",
                f"k{i}",
                statuses[i % 4],
                now - rnd.randint(0, 120 * 86400),
            )
            for i in range(20_000)
        ],
    )
    conn.executemany(
        "INSERT INTO audit_log (at, actor_id, actor_role, action, target) VALUES (?, ?, ?, ?, ?)",
        [
            (now - i * 60, OWNER, "owner", ["feedback.approve", "broadcast_cancel"][i % 2], str(i))
            for i in range(50_000)
        ],
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return {"directive": int(directive or 0), "big": broadcast_ids[1], "groups": groups}


def routes(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, JSON body) of every page and API the console serves, with filters."""
    big, directive = ids["big"], ids["directive"]
    return [
        ("GET", "/api/me", None),
        ("GET", "/ui/overview", None),
        ("GET", "/ui/feedback", None),
        ("GET", "/ui/feedback?status=all&offset=15000", None),
        ("GET", "/ui/feedback?status=answered&from=2020-01-01&to=2030-01-01", None),
        ("GET", "/ui/feedback/100", None),
        ("GET", "/ui/broadcasts", None),
        ("GET", f"/ui/broadcasts/{big}", None),
        ("GET", f"/ui/broadcasts/{big}?state=failed&offset=1000", None),
        ("GET", f"/ui/broadcasts/{big}?unit=phuong-03", None),
        ("GET", f"/ui/broadcasts/{big}?q=Chat%2099", None),
        ("GET", f"/ui/broadcasts/{big}?offset=99000", None),
        ("GET", "/api/audience-count?audience=all", None),
        ("GET", "/api/audience-count?audience=unit:phuong-03", None),
        ("POST", "/api/broadcasts/preview", {"text": "<b>Họp</b> lúc 14 giờ. " * 20}),
        ("GET", "/ui/directives", None),
        ("GET", f"/ui/directives/{directive}", None),
        ("GET", f"/ui/directives/{directive}?missing=1", None),
        ("GET", "/ui/articles", None),
        ("GET", "/ui/articles?q=tuyen+giao", None),
        ("GET", "/ui/groups", None),
        ("GET", "/ui/groups?kind=private&offset=50000", None),
        ("GET", "/ui/stats", None),
        ("GET", "/api/stats/report?format=xlsx", None),
        ("GET", "/ui/audit", None),
        ("GET", "/ui/audit?action=feedback&offset=10000", None),
    ]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000


async def help_latency(fake: FakeTelegram, user_id: int, n: int) -> list[float]:
    """Seconds from /help injected at the fake to the bot's reply arriving there."""
    user = fake.user(user_id, "Đo")
    chat = fake.private_chat(user)
    times = []
    for _ in range(n):
        last = fake.messages(chat)[-1].message_id if fake.messages(chat) else 0
        start = time.perf_counter()
        fake.send_text(chat, user, "/help")
        await fake.wait_for_message(chat, after=last, contains="lệnh", timeout=10)
        times.append(time.perf_counter() - start)
        await asyncio.sleep(0.05)
    return times


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        db_path = tmp_path / "loa.db"
        async with Database(db_path):
            pass  # migrations
        t0 = time.perf_counter()
        ids = populate(db_path, args.subscribers, args.deliveries)
        print(f"populated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        fake = FakeTelegram(token=TEST_TOKEN, bot_username="loa_bench_bot", record_calls=False)
        fake.limits.enabled = False
        await fake.start(port=0)
        settings = make_settings(
            tmp_path,
            fake.base_url,
            admin_ids=str(OWNER),
            web_port=0,
            chat_rate=100,
            global_rate=1000,
            group_rate=1000,
        )
        bot = await start_bot(settings)
        try:
            console = bot.svc.features["console"]
            t0 = time.perf_counter()
            await console.warmed()  # this quarter's figures, computed once at start
            warm_up = time.perf_counter() - t0
            base = f"http://127.0.0.1:{console.port}"
            headers = {INIT_DATA_HEADER: init_data(OWNER)}
            results: dict[str, list[float]] = {}
            async with aiohttp.ClientSession() as session:
                for method, path, body in routes(ids):
                    times = []
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        async with session.request(
                            method, base + path, headers=headers, json=body
                        ) as r:
                            await r.read()
                            assert r.status == 200, (path, r.status)
                        times.append(time.perf_counter() - start)
                    results[f"{method} {path}"] = times
                # Exports: every row of the biggest broadcast.
                exports = {}
                during_export: list[float] = []
                for fmt in ("csv", "xlsx"):
                    start = time.perf_counter()
                    url = f"{base}/api/broadcasts/{ids['big']}/deliveries?format={fmt}"

                    async def fetch(url: str = url) -> int:
                        async with session.get(url, headers=headers) as r:
                            return len(await r.read())

                    task = asyncio.create_task(fetch())
                    if fmt == "xlsx":  # the bot's replies while openpyxl works in its thread
                        during_export = await help_latency(fake, 777003, 20)
                    size = await task
                    exports[fmt] = (time.perf_counter() - start, size)
                # The bot's replies alone, then while a client hammers the console.
                alone = await help_latency(fake, 777001, 30)
                stop = asyncio.Event()

                async def hammer() -> int:
                    n = 0
                    paths = [p for m, p, _b in routes(ids) if m == "GET"]
                    while not stop.is_set():
                        async with session.get(base + paths[n % len(paths)], headers=headers) as r:
                            await r.read()
                        n += 1
                    return n

                task = asyncio.create_task(hammer())
                loaded = await help_latency(fake, 777002, 30)
                stop.set()
                hammered = await task
        finally:
            await stop_bot(bot)
            await fake.stop()
    return {
        "routes": {k: (pct(v, 50), pct(v, 95)) for k, v in results.items()},
        "exports": exports,
        "help_alone": (pct(alone, 50), pct(alone, 95)),
        "help_loaded": (pct(loaded, 50), pct(loaded, 95)),
        "hammer_requests": hammered,
        "warm_up": warm_up,
        "help_export": (pct(during_export, 50), pct(during_export, 95)),
        "ids": ids,
    }


def report(args: argparse.Namespace, res: dict[str, Any]) -> str:
    worst = max(p95 for _p50, p95 in res["routes"].values())
    lines = [
        "## Web console",
        "",
        f"`python -m bench.console --subscribers {args.subscribers} --deliveries "
        f"{args.deliveries} --repeat {args.repeat}` on {platform.machine()}, "
        f"{os.cpu_count()} shared cores, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}. {args.subscribers:,} subscribed chats, {args.deliveries:,} "
        "delivery rows, 20,000 comments, 50,000 audit entries; the real bot serves the "
        "console, every request signed with initData.",
        "",
        f"Worst p95 over every page and API call: **{worst:.0f} ms** (target < 300 ms).",
        "",
        "| request | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    for name, (p50, p95) in res["routes"].items():
        lines.append(f"| `{name}` | {p50:.0f} | {p95:.0f} |")
    lines += [""]
    for fmt, (seconds, size) in res["exports"].items():
        lines.append(
            f"- Export of the biggest broadcast's recipients ({args.subscribers:,} rows) as "
            f"{fmt}: {seconds:.1f} s ({size / 1e6:.1f} MB), written in a worker thread."
        )
    e50, e95 = res["help_export"]
    lines.append(
        f"- The bot's reply to /help while the .xlsx export runs: p50 {e50:.0f} ms /"
        f" p95 {e95:.0f} ms."
    )
    lines.append(
        f"- This quarter's figures (a scan of every delivery) are computed at start-up in "
        f"the background ({res['warm_up']:.1f} s here) and then at most once a minute, "
        "served from memory meanwhile."
    )
    a50, a95 = res["help_alone"]
    l50, l95 = res["help_loaded"]
    lines.append(
        f"- The bot's reply to /help: p50 {a50:.0f} ms / p95 {a95:.0f} ms alone; "
        f"p50 {l50:.0f} ms / p95 {l95:.0f} ms while one client sent "
        f"{res['hammer_requests']} console requests back to back."
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    res = asyncio.run(run(args))
    text = report(args, res)
    print(text)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        old = path.read_text(encoding="utf-8")
        section = re.compile(r"^## Web console\n.*?(?=^## |\Z)", re.M | re.S)
        new = section.sub(text + "\n", old) if section.search(old) else old.rstrip() + "\n\n" + text
        path.write_text(new, encoding="utf-8")
    print(json.dumps({k: v for k, v in res.items() if k != "routes"}, default=str), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
