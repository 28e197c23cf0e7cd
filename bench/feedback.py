# ruff: noqa: ASYNC220, ASYNC110
"""Feedback benchmark: comments through the real Application against the fake Bot API.

    .venv/bin/python -m bench.feedback [--comments 2000] [--paced-comments 1000]
        [--rate 100] [--light-rate 20] [--write]

Each comment is the citizen's real flow: "/ykien <text>" → the preview with buttons →
[Gửi] → the preview edited into the receipt "#<id>" (and, in the background, the notice
to the moderators). The bot runs in this process, the fake Bot API and the simulated
citizens in a second one (as Telegram is another machine). Limits are off (fake limits
disabled, the pacer opened up, per-user comment limits 0).

- burst: every citizen (--comments) starts at once; comments per second = comments ÷
  time from the first update to the last receipt (a receipt is sent only after its
  comment is stored, so every comment counted is stored; the bench checks the table).
- paced: one new comment every 1/--rate s (--paced-comments of them); latency of every
  update (the command and the button press) from its injection at the fake to the bot's
  reply (new or edited message) stored there, both times taken in the fake's process;
  p50/p99 over all updates. The goal's "p99 < 50 ms at 100/s" is this phase.
- light: the same at --light-rate, far from saturation: the latency floor.
- store only: the domain and store calls of one comment without Telegram — the preview's
  checks (store.sender + rules.check_sender) and store.submit with what they found.
- CPU and trips: for burst, paced and light, the bot's CPU per comment (this process, all
  threads) and its trips to the aiosqlite thread per comment over the measured window
  (notices sent meanwhile included), and the fake's CPU per comment. On a shared 2-core
  machine the burst rate is bounded by (bot + fake CPU per comment) and by whatever else
  runs; 1000 ÷ bot CPU (ms) is the rate one core would give the bot alone.

--write replaces the "## Feedback" section of BENCHMARKS.md with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench._loop import run_like_loa
from bench._sections import write_section
from bench.broadcast import CallCounter
from bot.app import tune_collector
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
            tune_collector()  # as `loa run` does (this process is the bot's)
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
                result["load"] = os.getloadavg()[0]  # what else ran meanwhile
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
    """Domain + store alone: validate, the preview's checks (ban, duplicate, limits), then
    the masked insert re-asserting them (as the bot does between /ykien and [Gửi])."""
    import inspect
    import zoneinfo

    from bot.domain import feedback as rules
    from bot.store import feedback as store
    from bot.store.db import Database

    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    # Older code (the "before" of BENCHMARKS.md) had no `checked`: it read the facts again.
    passes_checks = "checked" in inspect.signature(store.submit).parameters
    with tempfile.TemporaryDirectory() as tmp:
        async with Database(Path(tmp) / "loa.db") as db:
            t0 = time.perf_counter()
            with CallCounter() as counter:
                for n in range(count):
                    text = rules.validate_text(f"{PHRASES[n % len(PHRASES)]} (ý kiến số {n})")
                    facts = await store.sender(db, n, await store.dup_key(db, text), now=n)
                    rules.check_sender(facts, n, 5, 20, tz)
                    extra = {"checked": (n, facts.recent)} if passes_checks else {}
                    await store.submit(
                        db, user_id=n, chat_id=n, user_name="Dân", article_id="bai-1",
                        text=text, keep_original=False, now=n, per_hour=5, per_day=20, tz=tz,
                        **extra,
                    )  # fmt: skip
            elapsed = time.perf_counter() - t0
    return {"per_second": count / elapsed, "db_trips": counter.calls / count}


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
    store, ceiling = results["store"], results["ceiling"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rate = f"{args.rate:g}"

    def cpu(r: dict[str, float]) -> str:
        return (
            f"bot {r['bot_cpu_ms']:.1f} ms, fake {r['fake_cpu_ms']:.1f} ms;"
            f" {r['db_trips']:.1f} trips"
        )

    rows = [
        (f"burst: {burst['comments']:.0f} citizens at once, comments stored/s",
         f"{burst['per_second']:.0f}/s", "≥ 300/s"),
        ("burst: update → reply p50 / p99",
         f"{burst['p50_ms']:.0f} / {burst['p99_ms']:.0f} ms", ""),
        ("burst: CPU per comment (bot, fake); bot's trips to the database thread",
         cpu(burst), ""),
        ("burst: comments/s one core would give the bot alone (1000 ÷ bot ms)",
         f"{1000 / burst['bot_cpu_ms']:.0f}/s", ""),
        (f"offered {rate} comments/s ({paced['comments']:.0f}): update → reply p50",
         f"{paced['p50_ms']:.0f} ms", ""),
        (f"offered {rate} comments/s: update → reply p99", f"{paced['p99_ms']:.0f} ms", "< 50 ms"),
        (f"offered {rate} comments/s: CPU per comment, trips", cpu(paced), ""),
        (f"offered {args.light_rate:g} comments/s ({light['comments']:.0f}): p50 / p99 / max",
         f"{light['p50_ms']:.1f} / {light['p99_ms']:.1f} / {light['max_ms']:.1f} ms", ""),
        (f"offered {args.light_rate:g} comments/s: CPU per comment, trips", cpu(light), ""),
        ("moderator notices queued by the burst, drained in",
         f"{burst['notify_drain_s']:.1f} s", ""),
        ("domain + store alone (validate, mask, checks, guarded insert)",
         f"{store['per_second']:.0f} comments/s, {store['db_trips']:.1f} trips", ""),
        ("transport: bare PTB sendMessage against the fake process, httpx (PTB default)",
         f"{ceiling['httpx_per_second']:.0f} requests/s, "
         f"{ceiling['httpx_cpu_us']:.0f} µs CPU each", ""),
        ("transport: the same with bot.tg.transport.AiohttpRequest (what the bot uses)",
         f"{ceiling['aiohttp_per_second']:.0f} requests/s, "
         f"{ceiling['aiohttp_cpu_us']:.0f} µs CPU each", ""),
    ]  # fmt: skip
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    load = " / ".join(f"{r['load']:.1f}" for r in (burst, paced, light))
    section = f"""## Feedback

`python -m bench.feedback --comments {args.comments} --paced-comments {args.paced_comments} \\
--rate {rate} --light-rate {args.light_rate:g} --write` ({machine}). Load average after the
burst / paced / light phases: {load} — a shared machine: read CPU per comment and ratios,
not absolute rates (on a busy machine even CPU time stretches). Each comment is the real
flow through the real Application (this process) and the fake Bot API with the simulated
citizens (a second process, as Telegram is): `/ykien <text>` → preview with its casework
keyboard → [Gửi] → the preview is edited into the receipt `#<id>`; the moderators' notice
goes out from a background queue. Limits off (fake limits disabled, pacer opened up,
per-user comment limits 0). Latency = an update's injection at the fake → the bot's reply
(new or edited message) stored by the fake, both timestamps in the fake's process, long
polling included, over both updates of each comment.

| what | figure | target |
| --- | --- | --- |
{table}

**What a comment costs now** (issue 17; before → after in "Performance (issue 17)"): two
updates and four Bot API requests (preview, answerCallbackQuery, receipt edit, the
moderators' notice). The preview, the receipt edit and the notice go out through
`bot.tg.raw` (no `Message` parsed from answers nobody reads; the preview keyboard's JSON
is built once per look). The comment is stored by one guarded `INSERT … SELECT … WHERE`
(no ban, no identical comment, the same comment times as the preview's checks saw)
`RETURNING` the row: one trip, its own transaction; if anything changed since the preview
the checks run again in a `BEGIN IMMEDIATE` transaction. The duplicate-key secret is read
once. Notices are gathered for 0.25 s and shown in batches (two SELECTs, named moderators
looked up once per category and place, two writes per batch). Drafts are copied and
encoded for persistence without `deepcopy`/`asdict`. What remains, by py-spy and cProfile
(thread CPU) during the burst: PTB parsing the two incoming updates (≈ 22 % of the bot's
CPU; the [Gửi] press carries the whole preview with its keyboard and entities), PTB's
request machinery and aiohttp for four requests (≈ 35 %), the chat/user bookkeeping of a
first-time sender and the drafts' persistence (3 of the ≈ 6 trips; `bot.store.people`,
`bot.handlers.persistence`), masking and folding the text (≈ 4 %).

**Targets.** The burst target (≥ 300/s) needs the bot at ≤ 3.3 ms of CPU per comment on
its own core and the fake likewise; the rows above give both. The paced p99 target holds
only while the bot has a core's worth of headroom at 100/s (bot CPU × 100 well under one
core, plus the fake's); on this shared machine other engineers' processes held the other
core during these runs.
"""
    write_section("Feedback", section)


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
    burst = run_like_loa(run_phase(args.comments, 0, 1_000_000))
    print("burst:", {k: round(v, 2) for k, v in burst.items()})
    paced = run_like_loa(run_phase(args.paced_comments, args.rate, 2_000_000))
    print("paced:", {k: round(v, 2) for k, v in paced.items()})
    light = run_like_loa(run_phase(min(args.paced_comments, 300), args.light_rate, 3_000_000))
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
