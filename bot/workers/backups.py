"""Backups as the bot runs them: `run_backup` (logged in the backups table) and the daily
backup worker (LOA_BACKUP_DIR, LOA_BACKUP_TIME, rotation to LOA_BACKUP_KEEP files).
The copying itself is bot.store.backup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bot.domain import clock
from bot.services import Services
from bot.store import reports
from bot.store.backup import (
    BackupError,
    BackupResult,
    backup_database,
    backup_file_name,
    rotate_backups,
)

log = logging.getLogger(__name__)


def next_backup_delay(now: float, last_at: float | None, tz: tzinfo, at_hhmm: str) -> float:
    """Seconds until the next daily backup: the next HH:MM local, or soon when one is overdue.

    A bot that restarts often may never be running at HH:MM; when the last daily backup is
    older than 25 hours (or there is none) the next one starts in a minute.
    """
    if last_at is None or now - last_at > 25 * 3600:
        return 60.0
    hour, minute = (int(x) for x in at_hhmm.split(":"))
    local = datetime.fromtimestamp(now, tz)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot.timestamp() <= now:
        slot = (local + timedelta(days=1)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
    return max(slot.timestamp() - now, 1.0)


async def run_backup(svc: Services, dest: Path, kind: str) -> BackupResult:
    """Copy the bot's database to `dest` in a thread and log the result in the backups table."""
    try:
        result = await asyncio.to_thread(backup_database, svc.db.path, dest)
    except BackupError as exc:
        await reports.record_backup(
            svc.db,
            at=clock.now(),
            kind=kind,
            path=str(dest),
            size=None,
            seconds=None,
            ok=False,
            error=str(exc)[:500],
        )
        raise
    await reports.record_backup(
        svc.db,
        at=clock.now(),
        kind=kind,
        path=str(result.path),
        size=result.size,
        seconds=round(result.seconds, 3),
        ok=True,
    )
    log.info(
        "%s backup written to %s (%d bytes, %.2f s)", kind, result.path, result.size, result.seconds
    )
    return result


async def daily_backup(svc: Services) -> BackupResult:
    """One daily backup into LOA_BACKUP_DIR, then rotation to LOA_BACKUP_KEEP files."""
    folder = svc.settings.backup_dir
    assert folder is not None
    dest = folder / backup_file_name(time.time(), svc.settings.tz)
    result = await run_backup(svc, dest, "daily")
    removed = await asyncio.to_thread(rotate_backups, folder, svc.settings.backup_keep)
    if removed:
        log.info("rotated out %d old backup(s)", len(removed))
    return result


class DailyBackups:
    """The daily backup worker (a task started with the bot when LOA_BACKUP_DIR is set)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: Any) -> None:
        if self.svc.settings.backup_dir is None:
            log.info("daily backups off (LOA_BACKUP_DIR not set)")
            return
        self._task = asyncio.create_task(self._loop(), name="loa-daily-backups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        settings = self.svc.settings
        while True:
            last = await reports.last_backup(self.svc.db, kind="daily")
            delay = next_backup_delay(
                time.time(), last.at if last else None, settings.tz, settings.backup_time
            )
            await asyncio.sleep(delay)
            try:
                await daily_backup(self.svc)
            except Exception:
                log.exception("daily backup failed; retrying in an hour")
                await asyncio.sleep(3600)
