"""Start-up costs: `loa --help` and `loa digest FILE` wall time, and the idle bot's memory.

    .venv/bin/python -m bench.startup                       # CLI (median of 5) + idle RSS
    .venv/bin/python -m bench.startup --subscribers 100000  # idle RSS with 100,000 subscribers

The memory figure is VmRSS of a real `python -m bot run` (long polling against the fake
Bot API in its own process, articles of content/ indexed) after it has been idle for
`--idle` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token-for-the-fake"


def _wall(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of `python -m bot ARGV`
    (its output discarded). CPU is what the command costs whatever else the machine
    runs; wall is the goal."""
    times = []
    cpus = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", *argv],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        )
    return statistics.median(times), statistics.median(cpus)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def idle_rss(subscribers: int, idle: float) -> float:
    """MB resident of a running bot, idle, with `subscribers` subscribed private chats."""
    port = _free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakegram", "--port", str(port), "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert fake.stdout is not None
        fake.stdout.readline()
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "loa.db"
            subprocess.run(
                [sys.executable, "-m", "bot", "migrate"],
                cwd=ROOT,
                check=True,
                env={**os.environ, "LOA_DB_PATH": str(db_path)},
                stdout=subprocess.DEVNULL,
            )
            if subscribers:
                now = int(time.time())
                con = sqlite3.connect(db_path)
                with con:
                    con.executemany(
                        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                        " VALUES (?, 'private', 'x', ?, ?)",
                        [(900_000_000 + i, now, now) for i in range(subscribers)],
                    )
                    con.executemany(
                        "INSERT INTO subscriptions (chat_id, created_at, updated_at)"
                        " VALUES (?, ?, ?)",
                        [(900_000_000 + i, now, now) for i in range(subscribers)],
                    )
                con.close()
            env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
            env.update(
                PYTHONPATH=str(ROOT),  # this tree's bot package, whatever is installed
                LOA_BOT_TOKEN=TOKEN,
                LOA_BOT_API_URL=f"http://127.0.0.1:{port}/bot",
                LOA_DB_PATH=str(db_path),
                LOA_CONTENT_DIR=str(ROOT / "content"),
                LOA_ADMIN_IDS="1",
                LOA_HEALTH_FILE=str(Path(tmp) / "health.json"),
                LOA_LOG_LEVEL="WARNING",
            )
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=tmp,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 60
                while not (Path(tmp) / "health.json").exists():
                    if bot.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the bot did not start")
                    time.sleep(0.2)
                time.sleep(idle)
                return _rss_mb(bot.pid)
            finally:
                bot.terminate()
                bot.wait(30)
    finally:
        fake.terminate()
        fake.wait(10)


def main() -> None:
    """Parse arguments, measure, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--subscribers", type=int, default=0)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds idle before sampling")
    ap.add_argument("--no-cli", dest="cli", action="store_false")
    args = ap.parse_args()
    article = next((ROOT / "content" / "articles").glob("*.md"))
    result: dict[str, float] = {"load_average_1m": os.getloadavg()[0]}
    if args.cli:
        for name, argv in (("help", ["--help"]), ("digest", ["digest", str(article)])):
            wall, cpu = _wall(argv, args.runs)
            result[f"{name}_s_median"] = round(wall, 3)
            result[f"{name}_cpu_s_median"] = round(cpu, 3)
    result["idle_rss_mb"] = round(idle_rss(args.subscribers, args.idle), 1)
    result["subscribers"] = float(args.subscribers)
    print(json.dumps({"mode": "startup", **result}, indent=2))


if __name__ == "__main__":
    main()
