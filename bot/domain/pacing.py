"""Sliding-window pacing that can never exceed a strict server-side window.

Telegram (and a strict fake) counts a message when it *arrives*. The client only
knows when a request started and when its answer came back, and arrival lies between
the two. So a slot is held from the moment a request starts until `period` seconds
after its answer: request k+N may start only after answer k came back plus the
period. That bounds any server window to N whatever the network delay, while costing
only one round trip per period (about 0.5 % at 30/s on loopback).

Admission is constant-time whatever the rate: a window counts its in-flight requests
and keeps the end times of the finished holds in a queue that is sorted by
construction (answers are stamped with a monotonic clock), so "how many are held" is
a counter plus a length and "when does the next one free up" is the queue's head.
"""

from __future__ import annotations

import math
from collections import deque


class Slot:
    """One request's hold on a window: in flight until `release(now)` is called."""

    __slots__ = ("_window", "done_at")

    def __init__(self, window: Window) -> None:
        self._window: Window | None = window
        self.done_at: float | None = None

    def release(self, now: float) -> None:
        """The answer came back at `now`: the hold ends one period later (idempotent)."""
        window, self._window = self._window, None
        if window is not None:
            self.done_at = now
            window.finish(now)


class Window:
    """At most `capacity` requests in any `period` seconds, counted conservatively."""

    __slots__ = ("capacity", "in_flight", "period", "releases")

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period
        self.in_flight = 0  # taken, answer not back yet: held for an unknown time
        self.releases: deque[float] = deque()  # hold end times of answered requests, sorted

    def _expire(self, now: float) -> None:
        """Forget holds that ended; in-flight slots stay (they may arrive late)."""
        releases = self.releases
        while releases and releases[0] <= now:
            releases.popleft()

    def wait_time(self, now: float) -> float | None:
        """0 if a request may start now, seconds to wait, or None to await a completion."""
        self._expire(now)
        if self.in_flight + len(self.releases) < self.capacity:
            return 0.0
        if not self.releases:
            return None  # every slot is in flight: only an answer can free one
        return max(self.releases[0] - now, 0.0)

    def take(self) -> Slot:
        """Hold a slot (call only after wait_time returned 0)."""
        self.in_flight += 1
        return Slot(self)

    def finish(self, now: float) -> None:
        """One in-flight request was answered at `now` (use Slot.release)."""
        self.in_flight -= 1
        end = now + self.period
        # Kept sorted in O(1): an answer stamped earlier than the last one (a clock that
        # is not monotonic) is held as long as that one, which is only stricter.
        if self.releases and end < self.releases[-1]:
            end = self.releases[-1]
        self.releases.append(end)

    def idle(self, now: float) -> bool:
        """True when nothing is held: the window can be dropped."""
        self._expire(now)
        return not self.in_flight and not self.releases


def window_for_rate(count: float, unit_seconds: float) -> Window:
    """A window for `count` requests per `unit_seconds` (30/1 s, 20/60 s, 0.5/1 s…)."""
    per_second = count / unit_seconds
    capacity = max(1, math.floor(count + 1e-9))
    return Window(capacity=capacity, period=capacity / per_second)
