"""The health monitor and the health file.

The running bot refreshes a health file (LOA_HEALTH_FILE) every LOA_HEALTH_INTERVAL
seconds with the result of its checks: getUpdates completing (polling), queued updates
being processed (dispatcher), the database answering, and every worker registered in
svc.features["heartbeats"]. `loa health` (bot.cli.ops) exits 1 when the file says
unhealthy or the bot was last healthy more than LOA_HEALTH_MAX_AGE seconds ago.
`install` adds the monitor and the daily backup worker (bot.workers.backups) to the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.services import Services
from bot.tg.transport import AiohttpRequest
from bot.workers.backups import DailyBackups

log = logging.getLogger(__name__)


# --- health -----------------------------------------------------------------------


Heartbeat = Callable[[], "float | Awaitable[float | None] | None"]


class HealthMonitor:
    """Checks polling, dispatching, the database and registered workers; writes the file."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
        self.app = app
        self.svc = svc
        self.path = svc.settings.health_path
        self.started_at = time.time()
        self.last_update_at: float | None = None
        self.healthy_at: float | None = None
        self._pending_since: float | None = None
        self._seen_update_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def stamp_update(self, update: Update, context: Any) -> None:
        """Group -2 handler: the dispatcher has reached an update."""
        self.last_update_at = time.time()

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """Run every check now; (all fine, details)."""
        now = time.time()
        stall = self.svc.settings.health_stall
        problems: list[str] = []
        updater = self.app.updater
        poller: AiohttpRequest | None = self.svc.features.get("polling_request")
        polling: dict[str, Any] = {"running": bool(updater and updater.running)}
        if not polling["running"]:
            problems.append("updater is not running")
        elif not self.svc.settings.webhook_url and poller is not None:
            last = poller.last_success or self.started_at
            polling["last_poll_at"] = poller.last_success
            if now - last > stall:
                problems.append(f"no getUpdates answer for {int(now - last)} s")
        # Updates waiting in the queue or inside handlers, while none has reached the
        # handlers since the previous check: the dispatcher is stuck (e.g. a held lock).
        queued = (
            self.app.update_queue.qsize() + self.app.update_processor.current_concurrent_updates
        )
        if queued and self.last_update_at == self._seen_update_at:
            self._pending_since = self._pending_since or now
        else:
            self._pending_since = None
        self._seen_update_at = self.last_update_at
        dispatcher = {
            "running": self.app.running,
            "queued": queued,
            "last_update_at": self.last_update_at,
        }
        if not self.app.running:
            problems.append("application is not running")
        if self._pending_since is not None and now - self._pending_since > stall:
            problems.append(
                f"{queued} update(s) waiting for {int(now - self._pending_since)} s"
                " while no update reached the handlers"
            )
        try:
            await asyncio.wait_for(self.svc.db.fetch_value("SELECT 1"), timeout=10)
            database = "ok"
        except Exception as exc:  # TimeoutError included: a held lock, a broken file
            database = f"{type(exc).__name__}"
            problems.append(f"database does not answer ({database})")
        workers: dict[str, float | None] = {}
        for name, beat in dict(self.svc.features.get("heartbeats", {})).items():
            try:
                value = beat()
                if asyncio.iscoroutine(value):
                    value = await value
            except Exception as exc:
                problems.append(f"heartbeat {name} failed: {type(exc).__name__}")
                continue
            workers[name] = value
            if value is not None and now - float(value) > stall:
                problems.append(f"{name}: no progress for {int(now - float(value))} s")
        ok = not problems
        if ok:
            self.healthy_at = now
        return ok, {
            "ok": ok,
            "pid": os.getpid(),
            "checked_at": now,
            "healthy_at": self.healthy_at,
            "problems": problems,
            "polling": polling,
            "dispatcher": dispatcher,
            "database": database,
            "workers": workers,
        }

    def write(self, state: dict[str, Any]) -> None:
        """Replace the health file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    async def tick(self) -> bool:
        """One check, written to the file; logs a warning when unhealthy."""
        ok, state = await self.check()
        try:
            await asyncio.to_thread(self.write, state)
        except OSError as exc:
            log.warning("cannot write the health file %s: %s", self.path, exc)
        if not ok:
            log.warning("unhealthy: %s", "; ".join(state["problems"]))
        return ok

    async def start(self, app: Any) -> None:
        self.started_at = time.time()
        self._task = asyncio.create_task(self._loop(), name="loa-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        state = {
            "ok": False,
            "pid": os.getpid(),
            "checked_at": time.time(),
            "healthy_at": self.healthy_at,
            "problems": ["stopped"],
        }
        with contextlib.suppress(OSError):
            self.write(state)

    async def _loop(self) -> None:
        # The first check waits for polling and the dispatcher to have started.
        await asyncio.sleep(min(1.0, self.svc.settings.health_interval))
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("health check failed")
            await asyncio.sleep(self.svc.settings.health_interval)


def read_health(path: Path, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one-line reason) from the health file, as `loa health` judges it."""
    now = time.time() if now is None else now
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, f"no health file at {path} (is the bot running?)"
    except (OSError, ValueError) as exc:
        return False, f"unreadable health file {path}: {exc}"
    healthy_at = state.get("healthy_at")
    if not state.get("ok"):
        problems = "; ".join(state.get("problems") or ["unknown"])
        return False, f"unhealthy: {problems}"
    if healthy_at is None or now - float(healthy_at) > max_age:
        age = "never" if healthy_at is None else f"{int(now - float(healthy_at))} s ago"
        return False, f"stale: last healthy {age} (limit {int(max_age)} s)"
    return True, f"healthy (checked {int(now - float(healthy_at))} s ago, pid {state.get('pid')})"


def install(app: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> HealthMonitor:
    """Add the health monitor and the daily backup worker to the bot."""
    monitor = HealthMonitor(app, svc)
    svc.features.setdefault("heartbeats", {})
    svc.features["health"] = monitor
    app.add_handler(TypeHandler(Update, monitor.stamp_update), group=-2)
    backups = DailyBackups(svc)
    svc.features["daily_backups"] = backups
    svc.starters.append(monitor.start)
    svc.starters.append(backups.start)
    svc.stoppers.append(monitor.stop)
    svc.stoppers.append(backups.stop)
    return monitor
