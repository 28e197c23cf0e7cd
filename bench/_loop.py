"""The bot's side of a benchmark runs as `loa run` runs it: same event loop, same collector."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.app import new_event_loop

T = TypeVar("T")


def run_like_loa(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the event loop `loa run` uses (bot.app.new_event_loop)."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
