"""A background check run every few seconds, started after the database opens and stopped
before it closes (the outreach workers: closing polls, reminders)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


class Periodic:
    """Calls `tick()` at start, then every `interval()` seconds; a failing tick is logged
    and tried again at the next one."""

    name = "loa-periodic"

    def __init__(self) -> None:
        self.bot: Any = None
        self._task: asyncio.Task[None] | None = None

    def interval(self) -> float:
        """Seconds between ticks."""
        return 60.0

    async def tick(self) -> None:
        """One check."""
        raise NotImplementedError

    async def start(self, app: Any) -> None:
        """Start ticking (the first tick at once: work that came due while stopped)."""
        self.bot = app.bot
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; trying again later", self.name)
            await asyncio.sleep(self.interval())
