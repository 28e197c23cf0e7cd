"""Strict-window pacing, on a virtual clock."""

from __future__ import annotations

from bot.domain.pacing import Window, window_for_rate


def simulate(window: Window, n: int, latency: float) -> list[tuple[float, float]]:
    """Greedy sender: start each request as soon as the window allows; return (start, end)."""
    now = 0.0
    spans: list[tuple[float, float]] = []
    in_flight: list[tuple[float, object]] = []
    for _ in range(n):
        while True:
            wait = window.wait_time(now)
            if wait == 0.0:
                break
            if wait is None:  # complete the oldest in-flight request
                end, slot = in_flight.pop(0)
                now = max(now, end)
                slot.done_at = end  # type: ignore[attr-defined]
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
