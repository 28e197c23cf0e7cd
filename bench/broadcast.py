"""Broadcast benchmark: the real dispatcher against the fake Bot API in its own process.

    .venv/bin/python -m bench.broadcast --private 2900 --groups 100            # limits on
    .venv/bin/python -m bench.broadcast --private 10000 --groups 0 --no-limits --concurrency 64

With limits (the fake enforces 30 msg/s global, 1 msg/s per chat, 20 msg/min per group as
strict sliding windows) it prints the achieved rate ÷ 30, the 429s the bot received, the
fake's limit violations, duplicates and losses. Without limits the pacer is opened up
(windows of 100,000/s) and the figure is the engine's own throughput, every delivery
marked "sending" before its request and "sent" after, durably in SQLite (WAL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite

from bench._loop import run_like_loa
from bot.app import tune_collector
from bot.domain import clock
from bot.domain.broadcasts import Audience
from bot.store import drafts
from bot.store.db import Database
from tests.harness import TEST_TOKEN, make_settings, start_bot, stop_bot

TEXT = "📢 <b>Thông báo</b>: lịch tiếp công dân tháng này của Ban Tuyên giáo."


class CallCounter:
    """Counts trips to the aiosqlite thread (each wakes it: ~0.2 ms of CPU on 2 cores).

    Measurement only: wraps aiosqlite's one internal entry point for every statement,
    fetch, commit and cursor close, so the figure is exactly the number of thread hops.
    """

    def __init__(self) -> None:
        self.calls = 0
        self._original = aiosqlite.Connection._execute

    def __enter__(self) -> CallCounter:
        original = self._original

        async def counted(conn: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await original(conn, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(args: argparse.Namespace) -> dict[str, float]:
    port = _free_port()
    cmd = [sys.executable, "-m", "tests.fakegram", "--port", str(port), "--token", TEST_TOKEN]
    if args.limits:
        cmd.append("--limits")
    fake = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: ASYNC220 - started once, before the loop is busy
    try:
        assert fake.stdout is not None
        fake.stdout.readline()  # "fakegram listening on …"
        return await _bench(args, port)
    finally:
        fake.terminate()
        fake.wait(10)


async def _bench(args: argparse.Namespace, port: int) -> dict[str, float]:
    control = f"http://127.0.0.1:{port}/_fake"
    base_url = f"http://127.0.0.1:{port}/bot"
    private = [900_000_000 + i for i in range(args.private)]
    groups = [-1_000_000_000 - i for i in range(args.groups)]
    async with aiohttp.ClientSession() as http:
        sem = asyncio.Semaphore(32)

        async def post(route: str, body: dict) -> None:
            async with sem, http.post(f"{control}/{route}", json=body) as r:
                r.raise_for_status()

        await asyncio.gather(
            *[post("users", {"id": uid, "first_name": "Dân"}) for uid in private],
            *[post("chats", {"id": gid, "title": "Tổ", "type": "supergroup"}) for gid in groups],
        )
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            settings = make_settings(
                tmp_path,
                base_url,
                dispatcher_concurrency=args.concurrency,
                dispatcher_batch=args.batch,
                progress_interval=0,
                # limits off: open the pacer through its settings (no private attributes)
                **({} if args.limits else {"global_rate": 100_000.0}),
            )
            now = clock.now()
            async with Database(settings.db_path) as db:
                rows = [(c, "private") for c in private] + [(g, "supergroup") for g in groups]
                await db.executemany(
                    "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                    " VALUES (?, ?, 'x', ?, ?)",
                    [(c, t, now, now) for c, t in rows],
                )
                await db.executemany(
                    "INSERT INTO subscriptions (chat_id, created_at, updated_at) VALUES (?, ?, ?)",
                    [(c, now, now) for c, _ in rows],
                )
            bot = await start_bot(settings)
            tune_collector()  # as `loa run` does (this process is the bot's)
            svc = bot.svc
            try:
                bid = await drafts.create_draft(
                    svc.db,
                    kind="announcement",
                    body=TEXT,
                    parts=[TEXT],
                    audience=Audience("all"),
                    created_by=None,
                    now=clock.now(),
                )
                t0 = time.monotonic()
                total = await drafts.queue_broadcast(
                    svc.db,
                    bid,
                    scheduled_at=None,
                    actor_id=None,
                    actor_role=None,
                    now=clock.now(),
                )
                cpu0 = time.process_time()
                with CallCounter() as counter:
                    svc.features["dispatcher"].wake()
                    polls = 0
                    while True:
                        await asyncio.sleep(0.1)
                        polls += 1
                        left = await svc.db.fetch_value(
                            "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                        )
                        if not left:
                            break
                    db_calls = counter.calls - polls  # the bot's own (not this loop's)
                elapsed = time.monotonic() - t0
                cpu = time.process_time() - cpu0
                recorded = await svc.db.fetch_value(
                    "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'"
                )
                retry_after = svc.pacer.retry_after_count if svc.pacer else 0
            finally:
                await stop_bot(bot)
        async with http.get(f"{control}/stats") as r:
            stats = (await r.json())["result"]
        async with http.get(f"{control}/calls") as r:
            calls = (await r.json())["result"]
    recipients = set(private) | set(groups)
    sends = [
        c
        for c in calls
        if c["method"] == "sendMessage"
        and c.get("status") == 200
        and c["params"].get("chat_id") in recipients
    ]
    per_chat = Counter(c["params"]["chat_id"] for c in sends)
    times = sorted(c["at"] for c in sends)
    span = times[-1] - times[0] if len(times) > 1 else elapsed
    rate = (len(times) - 1) / span if span > 0 else 0.0
    result = {
        "chats": float(total),
        "elapsed_s": round(elapsed, 2),
        "rate_per_s": round(rate, 2),
        "rate_over_limit": round(rate / 30.0, 4),
        "deliveries_per_s_end_to_end": round(recorded / elapsed, 1),
        "retry_after_received": float(retry_after),
        "violations": float(stats["violations"]),
        "lost": float(sum(1 for c in recipients if per_chat[c] == 0)),
        "duplicates": float(sum(n - 1 for n in per_chat.values() if n > 1)),
        "recorded_sent": float(recorded),
        # this process is the bot (the fake runs in its own): CPU of everything it did
        "bot_cpu_ms_per_delivery": round(cpu / max(recorded, 1) * 1000, 3),
        "aiosqlite_calls_per_delivery": round(db_calls / max(recorded, 1), 3),
    }
    return result


async def engine_only(args: argparse.Namespace) -> dict[str, float]:
    """The dispatcher and its SQLite bookkeeping with an instant stand-in for the Bot API."""
    from types import SimpleNamespace

    from bot.workers.dispatcher import Dispatcher

    class InstantBot:
        sent = 0

        async def send_message(self, chat_id: int, text: str, **kw: object) -> object:
            self.sent += 1
            await asyncio.sleep(0)
            return SimpleNamespace(message_id=self.sent)

        async def do_api_request(self, endpoint: str, api_kwargs: dict, **kw: object) -> object:
            self.sent += 1
            await asyncio.sleep(0)
            return {"message_id": self.sent, "chat": {"id": api_kwargs["chat_id"]}}

    n = args.private + args.groups
    with tempfile.TemporaryDirectory() as tmp:
        async with Database(Path(tmp) / "loa.db") as db:
            now = clock.now()
            await db.executemany(
                "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                " VALUES (?, ?, 'x', ?, ?)",
                [(i, "private", now, now) for i in range(1, n + 1)],
            )
            await db.executemany(
                "INSERT INTO subscriptions (chat_id, created_at, updated_at) VALUES (?, ?, ?)",
                [(i, now, now) for i in range(1, n + 1)],
            )
            dispatcher = Dispatcher(
                db, concurrency=args.concurrency, batch_size=args.batch, progress_interval=0
            )
            stub = InstantBot()
            await dispatcher.start(SimpleNamespace(bot=stub))
            bid = await drafts.create_draft(
                db,
                kind="announcement",
                body=TEXT,
                parts=[TEXT],
                audience=Audience("all"),
                created_by=None,
                now=now,
            )
            t0 = time.monotonic()
            await drafts.queue_broadcast(
                db, bid, scheduled_at=None, actor_id=None, actor_role=None, now=now
            )
            cpu0 = time.process_time()
            with CallCounter() as counter:
                dispatcher.wake()
                polls = 1
                while await db.fetch_value(
                    "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                ):
                    await asyncio.sleep(0.02)
                    polls += 1
                calls = counter.calls - polls  # the dispatcher's own (not this loop's)
            elapsed = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            await dispatcher.stop()
            recorded = await db.fetch_value("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
    return {
        "chats": float(n),
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_s_durable": round(recorded / elapsed, 1),
        "sends": float(stub.sent),
        "recorded_sent": float(recorded),
        "cpu_us_per_delivery": round(cpu / max(recorded, 1) * 1e6, 1),
        "aiosqlite_calls_per_delivery": round(calls / max(recorded, 1), 3),
    }


def main() -> None:
    """Parse arguments, run once, print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--private", type=int, default=2900)
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--no-limits", dest="limits", action="store_false")
    ap.add_argument(
        "--engine-only",
        action="store_true",
        help="no HTTP: measure the dispatcher and its durable SQLite writes alone",
    )
    args = ap.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        result = run_like_loa(engine_only(args) if args.engine_only else run(args))
        mode = "engine-only" if args.engine_only else ("limits" if args.limits else "no-limits")
        print(json.dumps({"mode": mode, **result}, indent=2))


if __name__ == "__main__":
    main()
