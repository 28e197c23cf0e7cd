"""Casework benchmark (issue 15): deadlines in working days, quarterly figures, exports
and the reminder pass over many cases, on a real SQLite file.

    .venv/bin/python -m bench.casework [--cases 10000]

1. due_for: the due day of each case (Vietnam's holidays from the `holidays` library,
   cached per year; the first call of a year computes the lunar dates).
2. Quarterly figures: reports.gather_stats with the casework policy over the cases of one
   quarter (by category, by unit, total; median working days).
3. Exports: the quarter's cases as .xlsx and as CSV (bot.domain.spreadsheets).
4. Reminder pass: CaseReminder.tick over every open case, half of them overdue (the
   first pass claims one alert per case; the second finds nothing new to send).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import tempfile
import time
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.actions import casework as actions
from bot.domain import casework as rules
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar, parse_dates
from bot.store import reports
from bot.store.db import Database
from bot.workers.casework import CaseReminder

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
UNITS = [f"phuong-{i}" for i in range(12)] + [None]


class _CountingRouter:
    """Stands in for the Telegram router: counts what would be sent."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc
        self.sent = 0

    def staff_chats(self) -> list[int]:
        return [-100]

    async def send(self, *args: Any, **kwargs: Any) -> None:
        self.sent += 1


class _Svc:
    def __init__(self, db: Database, settings: Any, policy: rules.CasePolicy) -> None:
        self.db, self.settings = db, settings
        self.features = {"case_policy": policy}


async def run(n: int) -> None:
    rng = random.Random(15)
    policy = rules.CasePolicy(
        rules.DEFAULT_CATEGORIES,
        10,
        {"đất đai": 15},
        WorkCalendar(makeup_days=parse_dates("26/04/2025")),
        TZ,
    )
    start = int(datetime(2025, 1, 1, tzinfo=TZ).timestamp())
    end = int(datetime(2025, 4, 1, tzinfo=TZ).timestamp())
    created = sorted(rng.randrange(start, end) for _ in range(n))
    categories = [rng.choice(rules.DEFAULT_CATEGORIES) for _ in range(n)]

    t = time.perf_counter()
    dues = [policy.due_for(c, cat) for c, cat in zip(created, categories, strict=True)]
    due_ms = (time.perf_counter() - t) * 1000

    with tempfile.TemporaryDirectory() as tmp:
        async with Database(Path(tmp) / "loa.db") as db:
            rows = []
            for i, (c, cat, due) in enumerate(zip(created, categories, dues, strict=True), 1):
                answered = c + rng.randrange(1, 30) * 86400 if rng.random() < 0.6 else None
                rows.append(
                    (
                        i, 1000 + i, 1000 + i, f"Ý kiến số {i}: đường hỏng, gọi 09xx xxx 678",
                        f"k{i}", c, cat, rng.choice(UNITS), due.isoformat(),
                        "da_tra_loi" if answered else "dang_xu_ly", answered,
                        "Cảm ơn bạn, phường đã xử lý." if answered else None, answered,
                        rng.choice([None, "hai_long", "binh_thuong", "chua_hai_long"])
                        if answered else None,
                    )
                )  # fmt: skip
            await db.executemany(
                "INSERT INTO comments (id, user_id, chat_id, text_masked, dup_key, created_at,"
                " category, unit, due_date, case_state, resolved_at, answer, answered_at, rating)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            period = parse_period("2025-Q1", datetime(2025, 5, 1).date())
            t = time.perf_counter()
            stats = await reports.gather_stats(
                db, period, TZ, policy=policy, today=datetime(2025, 5, 1).date()
            )
            stats_ms = (time.perf_counter() - t) * 1000
            assert stats.case_total is not None and stats.case_total.received == n

            t = time.perf_counter()
            xlsx = await actions.export(db, period, policy, "xlsx")
            xlsx_ms = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            await actions.export(db, period, policy, "csv")
            csv_ms = (time.perf_counter() - t) * 1000

            class _Settings:
                office_hours = "07:30-17:00"

            router = _CountingRouter(_Svc(db, _Settings(), policy))
            reminder = CaseReminder(router, clock=lambda: int(
                datetime(2025, 3, 20, 9, tzinfo=TZ).timestamp()
            ))  # fmt: skip
            t = time.perf_counter()
            first = await reminder.tick()
            first_ms = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            second = await reminder.tick()
            second_ms = (time.perf_counter() - t) * 1000

    print(f"machine: {platform.machine()}, {platform.python_version()}, shared 2 cores")
    print(f"cases: {n} in 2025-Q1")
    print(f"due_for x{n}: {due_ms:.0f} ms ({due_ms * 1000 / n:.1f} µs/case, cold year cache)")
    print(f"quarterly figures (gather_stats + casework): {stats_ms:.0f} ms")
    print(f"export .xlsx: {xlsx_ms:.0f} ms ({len(xlsx) // 1024} KiB); CSV: {csv_ms:.0f} ms")
    print(
        f"reminder pass 1: {first} alerts in {first_ms:.0f} ms;"
        f" pass 2 (same day): {second} alerts in {second_ms:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    args = parser.parse_args()
    asyncio.run(run(args.cases))


if __name__ == "__main__":
    main()
