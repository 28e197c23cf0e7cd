"""Pacing cost per send: the real Pacer's admission and release at 30/s and at 100,000/s.

    .venv/bin/python -m bench.pacing

A virtual clock advances 1/rate per send; every send goes to a different private chat
(150,000 chats by default: each chat's 1 msg/s window never blocks) and is answered
`latency` seconds after it started, so the global window holds rate × (period + latency)
slots. The figure is CPU time per
acquire + release; the goal is the same cost at both rates (±20 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque

from bot.tg.pacer import Pacer


async def cost_per_send(rate: float, sends: int, latency: float, chats: int) -> float:
    """Microseconds of CPU per paced send at `rate` sends/s (virtual time)."""
    now = [0.0]
    # The window admits a little more than is offered: never a wait, only bookkeeping.
    pacer = Pacer(
        global_per_second=rate * 1.05,
        chat_per_second=1.0,
        group_per_minute=20.0,
        clock=lambda: now[0],
    )
    step = 1.0 / rate
    pending: deque[tuple[float, list]] = deque()
    t0 = time.process_time()
    for i in range(sends):
        now[0] += step
        while pending and pending[0][0] <= now[0]:
            pacer.release(pending.popleft()[1])
        slots = await pacer.acquire(1_000_000 + (i % chats), bulk=True)
        pending.append((now[0] + latency, slots))
    while pending:
        pacer.release(pending.popleft()[1])
    return (time.process_time() - t0) / sends * 1e6


async def run(args: argparse.Namespace) -> dict[str, float]:
    result: dict[str, float] = {}
    for rate in (30.0, 100_000.0):
        # Warm up the same rate first (the window fills during its first period).
        costs = [await cost_per_send(rate, args.sends, args.latency, args.chats) for _ in range(3)]
        result[f"us_per_send_at_{int(rate)}_per_s"] = round(sorted(costs)[1], 2)
    result["ratio_fast_over_slow"] = round(
        result["us_per_send_at_100000_per_s"] / result["us_per_send_at_30_per_s"], 3
    )
    return result


def main() -> None:
    """Parse arguments, run, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=200_000)
    ap.add_argument("--latency", type=float, default=0.01, help="seconds until each answer")
    ap.add_argument("--chats", type=int, default=150_000, help="> rate × (1 s + latency)")
    args = ap.parse_args()
    print(json.dumps({"mode": "pacing", **asyncio.run(run(args))}, indent=2))


if __name__ == "__main__":
    main()
