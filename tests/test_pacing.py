"""Strict-window pacing, on a virtual clock."""

from __future__ import annotations

import pytest

from bot.domain.pacing import Slot, Window, window_for_rate
from bot.tg.pacer import RECHECK, Pacer, Withdrawn


def simulate(window: Window, n: int, latency: float) -> list[tuple[float, float]]:
    """Greedy sender: start each request as soon as the window allows; return (start, end)."""
    now = 0.0
    spans: list[tuple[float, float]] = []
    in_flight: list[tuple[float, Slot]] = []
    for _ in range(n):
        while True:
            wait = window.wait_time(now)
            if wait == 0.0:
                break
            if wait is None:  # complete the oldest in-flight request
                end, slot = in_flight.pop(0)
                now = max(now, end)
                slot.release(end)
            else:
                now += wait
        slot = window.take()
        end = now + latency
        in_flight.append((end, slot))
        spans.append((now, end))
    return spans


def test_rates() -> None:
    assert (window_for_rate(30, 1).capacity, window_for_rate(30, 1).period) == (30, 1.0)
    group = window_for_rate(20, 60)
    assert (group.capacity, group.period) == (20, 60.0)
    slow = window_for_rate(0.5, 1)
    assert (slow.capacity, slow.period) == (1, 2.0)


def test_no_server_window_ever_exceeds_capacity_whatever_the_arrival() -> None:
    window = window_for_rate(30, 1)
    spans = simulate(window, 300, latency=0.05)
    # The worst case for a strict server: request i arrives at its END, request i+30
    # at its START. Even then 30 requests never fit in one second.
    for i in range(len(spans) - 30):
        assert spans[i + 30][0] - spans[i][1] >= 1.0 - 1e-9


def test_throughput_close_to_limit_on_fast_network() -> None:
    window = window_for_rate(30, 1)
    spans = simulate(window, 3000, latency=0.002)
    achieved = len(spans) / spans[-1][1]
    assert 0.99 * 30 / (1.002) <= achieved <= 30.0 * 1.001 + 30 / spans[-1][1]


def test_admission_is_constant_time_whatever_the_number_held() -> None:
    """100,000 held slots: admission looks at a counter and the queue's head only."""
    window = window_for_rate(100_000, 1)
    slots = [window.take() for _ in range(100_000)]
    assert window.wait_time(0.0) is None  # all in flight
    for i, slot in enumerate(slots):
        slot.release(i / 1e6)
    slots[0].release(5.0)  # a second release changes nothing
    assert window.wait_time(0.5) == 0.5  # the first answer (at 0) frees its slot at 1.0
    assert window.wait_time(1.0) == 0.0
    assert len(window.releases) == 99_999
    assert not window.idle(1.0) and window.idle(2.0)


def test_out_of_order_answers_are_held_at_least_as_long() -> None:
    window = window_for_rate(2, 1)
    a, b = window.take(), window.take()
    b.release(0.5)
    a.release(0.2)  # stamped earlier than the previous answer: held until 1.5 as well
    wait = window.wait_time(1.2)
    assert wait is not None and abs(wait - 0.3) < 1e-9
    assert window.wait_time(1.5) == 0.0


async def test_a_bulk_request_that_waited_for_its_slot_is_rechecked() -> None:
    """Issue 10: a broadcast stopped while its deliveries waited is not sent after all."""
    pacer = Pacer(global_per_second=1000, chat_per_second=1)
    sent: list[int] = []
    checks: list[bool] = []

    async def send() -> dict[str, int]:
        sent.append(1)
        return {"message_id": len(sent)}

    async def stopped() -> bool:
        checks.append(False)
        return False

    limits = {"bulk": True}
    data = {"chat_id": 7}
    token = RECHECK.set(stopped)
    try:
        await pacer.process_request(send, (), {}, "sendMessage", data, limits)  # no wait
        with pytest.raises(Withdrawn):  # the chat's 1/s window makes this one wait
            await pacer.process_request(send, (), {}, "sendMessage", data, limits)
    finally:
        RECHECK.reset(token)
    assert sent == [1] and checks == [False]
