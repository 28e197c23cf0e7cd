"""Sliding-window pacing that can never exceed a strict server-side window.

Telegram (and a strict fake) counts a message when it *arrives*. The client only
knows when a request started and when its answer came back, and arrival lies between
the two. So a slot is held from the moment a request starts until `period` seconds
after its answer: request k+N may start only after answer k came back plus the
period. That bounds any server window to N whatever the network delay, while costing
only one round trip per period (about 0.5 % at 30/s on loopback).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Slot:
    """One request's hold on a window: in flight until `done_at` is set."""

    done_at: float | None = None


@dataclass
class Window:
    """At most `capacity` requests in any `period` seconds, counted conservatively."""

    capacity: int
    period: float
    slots: deque[Slot] = field(default_factory=deque)

    def _expire(self, now: float) -> None:
        """Forget slots whose hold ended; in-flight slots stay (they may arrive late)."""
        while self.slots:
            head = self.slots[0]
            if head.done_at is not None and head.done_at + self.period <= now:
                self.slots.popleft()
            else:
                break

    def wait_time(self, now: float) -> float | None:
        """0 if a request may start now, seconds to wait, or None to await a completion."""
        self._expire(now)
        held = 0
        earliest_release: float | None = None
        for slot in self.slots:
            if slot.done_at is None or slot.done_at + self.period > now:
                held += 1
                if slot.done_at is not None:
                    release = slot.done_at + self.period
                    if earliest_release is None or release < earliest_release:
                        earliest_release = release
        if held < self.capacity:
            return 0.0
        if earliest_release is None:
            return None  # every slot is in flight: only an answer can free one
        return max(earliest_release - now, 0.0)

    def take(self) -> Slot:
        """Hold a slot (call only after wait_time returned 0)."""
        slot = Slot()
        self.slots.append(slot)
        return slot

    def idle(self, now: float) -> bool:
        """True when nothing is held: the window can be dropped."""
        self._expire(now)
        return not self.slots


def window_for_rate(count: float, unit_seconds: float) -> Window:
    """A window for `count` requests per `unit_seconds` (30/1 s, 20/60 s, 0.5/1 s…)."""
    per_second = count / unit_seconds
    capacity = max(1, math.floor(count + 1e-9))
    return Window(capacity=capacity, period=capacity / per_second)
