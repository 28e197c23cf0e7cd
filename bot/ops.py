"""Operations: backups (manual and daily), the health file, and the operator CLI commands.

- `loa backup PATH` / the daily worker copy the live database with SQLite's online
  backup API (sqlite3.Connection.backup) from a separate connection: one backup step
  holds a read transaction, so the copy is a consistent snapshot while the bot keeps
  writing (WAL mode lets the writer continue).
- The running bot refreshes a health file (LOA_HEALTH_FILE) every LOA_HEALTH_INTERVAL
  seconds with the result of its checks: getUpdates completing (polling), queued updates
  being processed (dispatcher), the database answering, and every worker registered in
  svc.features["heartbeats"]. `loa health` exits 1 when the file says unhealthy or the
  bot was last healthy more than LOA_HEALTH_MAX_AGE seconds ago.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sqlite3
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.config import Settings
from bot.domain import clock
from bot.services import Services
from bot.store import reports
from bot.store.db import Database
from bot.transport import AiohttpRequest

log = logging.getLogger(__name__)

BACKUP_NAME = re.compile(r"^loa-(\d{8}-\d{6})\.db$")


# --- backups ----------------------------------------------------------------------


class BackupError(Exception):
    """The copy could not be made or failed its integrity check."""


@dataclass(frozen=True)
class BackupResult:
    """A finished copy."""

    path: Path
    size: int
    seconds: float


def backup_database(source: Path, dest: Path) -> BackupResult:
    """Copy the live database `source` to `dest` consistently (blocking; run in a thread).

    The copy is written to dest.part, checked (PRAGMA quick_check), switched to a
    self-contained rollback-journal file and only then renamed to `dest`.
    """
    if not source.exists():
        raise BackupError(f"database {source} does not exist")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    started = time.monotonic()
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(part)
        try:
            # pages=-1 (the default): the whole copy in one step under one read
            # transaction, so concurrent writes cannot make it inconsistent.
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()
    if check != "ok":
        part.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {check}")
    with open(part, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(part, dest)
    return BackupResult(dest, dest.stat().st_size, time.monotonic() - started)


def backup_file_name(ts: float, tz: tzinfo) -> str:
    """loa-YYYYmmdd-HHMMSS.db in local time (sorts by age)."""
    return f"loa-{datetime.fromtimestamp(ts, tz):%Y%m%d-%H%M%S}.db"


def rotate_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` loa-*.db files in `folder`; return what was deleted."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and BACKUP_NAME.match(p.name))
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


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


# --- CLI --------------------------------------------------------------------------


class ReadOnlyDatabase(Database):
    """The database opened read-only (SQLite URI mode=ro): never created nor migrated.

    For the operator's read-only commands (status, audit, report): a mistyped
    LOA_DB_PATH must fail loudly instead of creating an empty file that reports zeros.
    """

    async def open(self, *, migrate: bool = False) -> int:
        """Open the existing file read-only; return its schema version (no migrations)."""
        uri = f"file:{urllib.parse.quote(str(self.path.absolute()))}?mode=ro"
        self._conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self._conn.execute("PRAGMA query_only=ON")
        return await self.schema_version()


def missing_database(settings: Settings) -> str | None:
    """The one-line error when LOA_DB_PATH names no file (None when it exists)."""
    path = settings.db_path
    if path.is_file():
        return None
    return (
        f"loa: no database at {path} (LOA_DB_PATH); check the path — "
        "read-only commands never create one"
    )


class DatabaseUnavailable(Exception):
    """The database file is missing or unreadable; str() is the one line to print."""


def _run_read_only(settings: Settings, work: Callable[[Database], Awaitable[Any]]) -> Any:
    """Run `work` on the existing database opened read-only; DatabaseUnavailable with one
    clear line when the file is missing or is not a readable Loa database."""
    problem = missing_database(settings)
    if problem is not None:
        raise DatabaseUnavailable(problem)

    async def go() -> Any:
        async with ReadOnlyDatabase(settings.db_path) as db:
            return await work(db)

    try:
        return asyncio.run(go())
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(
            f"loa: cannot read the database at {settings.db_path} (LOA_DB_PATH): {exc}"
        ) from None


def _fmt(ts: float | None, tz: tzinfo) -> str:
    return "-" if ts is None else clock.format_local(ts, tz)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Consistent copy of the live database to PATH (a file, or a folder for loa-<time>.db)."""
    dest = Path(args.path)
    if dest.is_dir():
        dest = dest / backup_file_name(time.time(), settings.tz)
    if dest.exists() and not args.force:
        print(f"loa: {dest} exists (use --force to overwrite)", file=sys.stderr)
        return 1
    if dest.resolve() == settings.db_path.resolve():
        print("loa: the backup cannot replace the database itself", file=sys.stderr)
        return 1
    problem = missing_database(settings)
    if problem is not None:  # opening it below would create an empty one
        print(problem, file=sys.stderr)
        return 1

    async def go() -> BackupResult:
        async with Database(settings.db_path) as db:
            svc = Services(settings=settings, db=db)
            return await run_backup(svc, dest, "manual")

    try:
        result = asyncio.run(go())
    except BackupError as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {result.path} ({result.size} bytes, {result.seconds:.2f} s)")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Replace the database by a backup (the bot must be stopped); the old one is kept aside."""
    source = Path(args.path)
    if not source.is_file():
        print(f"loa: {source} is not a file", file=sys.stderr)
        return 1
    healthy, _ = read_health(settings.health_path, settings.health_max_age)
    if healthy and not args.force:
        print(
            "loa: the bot seems to be running (fresh health file); stop it first or pass --force",
            file=sys.stderr,
        )
        return 1
    try:
        con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = con.execute("PRAGMA quick_check").fetchone()[0]
            version = con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error as exc:
        print(f"loa: {source} is not a Loa database: {exc}", file=sys.stderr)
        return 1
    if check != "ok":
        print(f"loa: {source} failed its integrity check: {check}", file=sys.stderr)
        return 1
    db_path = settings.db_path
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        backup_database(db_path, aside)  # includes what is still in the -wal file
        print(f"current database saved as {aside}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    backup_database(source, db_path)

    async def migrate() -> int:
        async with Database(db_path) as db:
            return await db.schema_version()

    new_version = asyncio.run(migrate())
    print(f"restored {source} (schema {version}) to {db_path}; schema now {new_version}")
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot reported itself healthy recently, else 1 (Docker HEALTHCHECK)."""
    healthy, reason = read_health(settings.health_path, settings.health_max_age)
    print(reason, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def format_status(st: reports.Status, settings: Settings, health: str) -> str:
    """The text `loa status` prints."""
    tz = settings.tz
    chats = ", ".join(f"{k} {v}" for k, v in st.chats_by_type.items()) or "none"
    lines = [
        f"database            {settings.db_path} (schema version {st.schema_version})",
        f"chats (active)      {chats}; inactive {st.chats_inactive}",
    ]

    def opt(value: int | None) -> str:
        return "n/a (feature not installed)" if value is None else str(value)

    lines.append(f"subscriptions       {opt(st.subscriptions)}")
    lines.append(f"pending deliveries  {opt(st.pending_deliveries)}")
    lines.append(f"pending comments    {opt(st.pending_comments)}")
    if st.next_broadcast_at is not None:
        when = _fmt(st.next_broadcast_at, tz)
        lines.append(f"next broadcast      #{st.next_broadcast_id} at {when}")
    else:
        lines.append("next broadcast      none scheduled")
    if st.last_backup is not None:
        b = st.last_backup
        lines.append(f"last backup         {_fmt(b.at, tz)} ({b.kind}, {b.size} bytes) {b.path}")
    else:
        lines.append("last backup         never")
    if settings.backup_dir is not None:
        lines.append(
            f"daily backups       {settings.backup_dir} at {settings.backup_time},"
            f" keep {settings.backup_keep}"
        )
    else:
        lines.append("daily backups       off (LOA_BACKUP_DIR not set)")
    lines.append(f"health              {health}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Schema version, counts, next scheduled broadcast, last backup, health."""

    try:
        st: reports.Status = _run_read_only(settings, reports.status)
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    _, health = read_health(settings.health_path, settings.health_max_age)
    print(format_status(st, settings, health))
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Audit entries since a local date, oldest first, one per line (tab-separated)."""
    from bot.store import staff

    since = 0
    if args.since:
        try:
            day = date.fromisoformat(args.since)
        except ValueError:
            print("loa: --since must be YYYY-MM-DD", file=sys.stderr)
            return 2
        since = int(datetime(day.year, day.month, day.day, tzinfo=settings.tz).timestamp())

    async def read(db: Database) -> list[staff.AuditEntry]:
        return await staff.latest_audit(db, limit=args.limit, since=since)

    try:
        entries = list(reversed(_run_read_only(settings, read)))
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    for e in entries:
        print(
            "\t".join(
                [
                    _fmt(e.at, settings.tz),
                    str(e.actor_id if e.actor_id is not None else "-"),
                    e.actor_role or "-",
                    e.action,
                    e.target or "-",
                    e.detail or "",
                ]
            )
        )
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}", file=sys.stderr)
    return 0


def add_cli(sub: Any) -> None:
    """Register backup, restore, health, status, audit and report under `loa`."""
    p = sub.add_parser("backup", help="consistent copy of the live database (online backup API)")
    p.add_argument("path", help="target file, or a folder for loa-<date>-<time>.db")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="replace the database by a backup (bot stopped)")
    p.add_argument("path", help="the backup file")
    p.add_argument("--force", action="store_true", help="even if the bot seems to be running")
    p.set_defaults(func=cmd_restore)
    sub.add_parser("health", help="exit 1 unless the running bot is healthy (HEALTHCHECK)")
    sub.choices["health"].set_defaults(func=cmd_health)
    sub.add_parser("status", help="schema, counts, next broadcast, last backup")
    sub.choices["status"].set_defaults(func=cmd_status)
    p = sub.add_parser("audit", help="print the audit log")
    p.add_argument("--since", help="YYYY-MM-DD (local date)")
    p.add_argument("--limit", type=int, default=1000, help="at most N entries (newest)")
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("report", help="quarterly report as Markdown with a PNG chart")
    p.add_argument("--quarter", required=True, help="e.g. 2022-Q2 or 'quý II/2022'")
    p.add_argument("-o", "--output", default=None, help="report file (default report-<q>.md)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """`loa report --quarter 2022-Q2 [-o report.md]`: Markdown plus <name>.png beside it."""
    from bot.charts import render_stats_chart
    from bot.domain.errors import InvalidInput
    from bot.domain.periods import parse_period
    from bot.domain.stats import render_markdown

    try:
        period = parse_period(args.quarter, datetime.now(settings.tz).date())
    except InvalidInput as exc:
        print(f"loa: --quarter: {exc.user_message}", file=sys.stderr)
        return 2
    output = Path(args.output or f"report-{period.key}.md")
    chart = output.with_suffix(".png")

    async def read(db: Database) -> reports.Stats:
        return await reports.gather_stats(db, period, settings.tz)

    try:
        stats: reports.Stats = _run_read_only(settings, read)
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    chart.write_bytes(render_stats_chart(stats))
    generated = clock.format_local(time.time(), settings.tz)
    output.write_text(render_markdown(stats, chart.name, generated), encoding="utf-8")
    print(f"report {period.label} written to {output} (chart {chart})")
    return 0
