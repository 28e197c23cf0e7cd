# ruff: noqa: ASYNC220
"""Readers benchmark: N citizens each open an article card and press a button on it.

    .venv/bin/python -m bench.readers [--readers 1000] [--rate 0] [--articles 1]

The real Application (this process) against the fake Bot API with the simulated readers
(a second process, as Telegram is). Each reader sends `/bai <id>` and waits for the card,
then presses [📄 Toàn văn] and waits for the full text: two updates. Limits are off
(fake limits disabled, pacer opened up). Figures: updates handled per second, update →
reply latency p50/p99 (both timestamps in the fake's process, long polling included),
the bot's CPU per update (this process's CPU time over the run ÷ updates) and its trips
to the database thread per update.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._loop import run_like_loa
from bench.broadcast import CallCounter
from bench.feedback import Recorder, _free_port
from bot.app import tune_collector
from bot.domain.pacing import Window
from bot.store.db import Database
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN, make_settings, start_bot, stop_bot

ROOT = Path(__file__).resolve().parent.parent


def _article_ids(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.md"))


async def one_reader(
    fake: FakeTelegram, rec: Recorder, uid: int, article_id: str, latencies: list[float]
) -> float:
    """Open the card, press [Toàn văn]; append both latencies; return the last reply time."""
    t0 = time.perf_counter()
    fake.send_text(uid, uid, f"/bai {article_id}")
    card, t1 = await rec.next_message(uid)
    latencies.append(t1 - t0)
    assert "📰" in (card.text or ""), card.text
    data = next(b["callback_data"] for b in card.buttons if b["callback_data"].startswith("ar:f:"))
    t2 = time.perf_counter()
    fake.press_button(uid, uid, card.message_id, data)
    _full, t3 = await rec.next_message(uid)
    latencies.append(t3 - t2)
    return t3


async def drive(port: int, count: int, rate: float, article_ids: list[str]) -> None:
    """Fake-server process: serve the Bot API, run the readers once told to, print JSON."""
    fake = FakeTelegram(token=TEST_TOKEN, bot_username="loa_test_bot")
    await fake.start(port=port)
    rec = Recorder(fake)
    users = [5_000_000 + i for i in range(count)]
    for uid in users:
        fake.private_chat(fake.user(uid, "Dân"))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    latencies: list[float] = []
    t0 = time.perf_counter()
    tasks = []
    for n, uid in enumerate(users):
        if rate:
            await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        article = article_ids[n % len(article_ids)]
        tasks.append(asyncio.create_task(one_reader(fake, rec, uid, article, latencies)))
    done = await asyncio.gather(*tasks)
    elapsed = max(done) - t0
    latencies.sort()
    print(
        json.dumps(
            {
                "updates": 2 * count,
                "elapsed_s": round(elapsed, 2),
                "updates_per_s": round(2 * count / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
            }
        ),
        flush=True,
    )
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    await fake.stop()


async def run(args: argparse.Namespace) -> dict[str, float]:
    """Start the fake+readers process, the bot here; return the figures."""
    source = ROOT / "content" / "articles"
    ids = _article_ids(source)[: args.articles]
    port = _free_port()
    cmd = [
        *(sys.executable, "-W", "ignore", "-m", "bench.readers", "--drive", str(port)),
        *("--readers", str(args.readers), "--rate", str(args.rate), "--ids", ",".join(ids)),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    loop = asyncio.get_running_loop()
    try:
        assert (await loop.run_in_executor(None, proc.stdout.readline)).strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(source, Path(tmp) / "content" / "articles")
            settings = make_settings(
                Path(tmp),
                f"http://127.0.0.1:{port}/bot",
                global_rate=1000,
                chat_rate=100,
                group_rate=1000,
                log_level="WARNING",
            )
            bot = await start_bot(settings)
            tune_collector()  # as `loa run` does (this process is the bot's)
            if bot.svc.pacer is not None:  # limits off: 100 messages per millisecond
                bot.svc.pacer._global = Window(capacity=100, period=0.001)
            try:
                cpu0 = time.process_time()
                with CallCounter() as counter:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    line = await loop.run_in_executor(None, proc.stdout.readline)
                    calls = counter.calls
                cpu = time.process_time() - cpu0
                result = json.loads(line)
            finally:
                await stop_bot(bot)  # writes the reads still counted in memory
            async with Database(settings.db_path) as db:
                reads = await db.fetch_value(
                    "SELECT SUM(card_opens) + SUM(fulltext_opens) FROM article_reads"
                )
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    updates = result["updates"]
    result["bot_cpu_ms_per_update"] = round(cpu / updates * 1000, 3)
    result["aiosqlite_calls_per_update"] = round(calls / updates, 3)
    result["reads_recorded"] = reads
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run once, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.0, help="new readers/s (0: all at once)")
    parser.add_argument("--articles", type=int, default=1, help="distinct articles opened")
    parser.add_argument("--drive", type=int, help=argparse.SUPPRESS)  # internal: fake process
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        asyncio.run(drive(args.drive, args.readers, args.rate, args.ids.split(",")))
        return 0
    print(json.dumps({"mode": "readers", **run_like_loa(run(args))}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
