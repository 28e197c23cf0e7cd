"""Operator commands: `loa backup`, `loa restore`, `loa health`, `loa status`,
`loa audit`, `loa report`. Read-only commands open the database read-only."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import UsageError, add_force, command, day, output_file, positive_int
from bot.domain import clock

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import reports
    from bot.store.backup import BackupResult
    from bot.store.db import Database

# The store (aiosqlite), the workers (telegram, aiohttp) and the charts are imported by
# the commands that use them, not by `loa --help` (bot.cli's docstring).

log = logging.getLogger(__name__)


# --- CLI --------------------------------------------------------------------------


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
    import asyncio

    from bot.store.db import ReadOnlyDatabase

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
    import asyncio

    from bot.services import Services
    from bot.store.backup import BackupError, backup_file_name
    from bot.store.db import Database
    from bot.workers.backups import run_backup

    dest = Path(args.path)
    if dest.is_dir():
        dest = dest / backup_file_name(time.time(), settings.tz)
    output_file(dest, force=getattr(args, "force", False), option="PATH")
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
    import asyncio

    from bot.store.backup import backup_database
    from bot.store.db import Database
    from bot.workers.health import read_health

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
    erased = _erased_ids(db_path) | _erased_ids(source)
    if db_path.exists():
        aside = db_path.with_name(f"{db_path.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        backup_database(db_path, aside)  # includes what is still in the -wal file
        print(f"current database saved as {aside}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    backup_database(source, db_path)

    forgetters = _forgetters(settings)

    async def migrate() -> int:
        async with Database(db_path) as db:
            version = await db.schema_version()
            for user_id in sorted(erased):
                async with db.transaction() as conn:
                    for forget in forgetters:
                        await forget(conn, user_id)
            return version

    new_version = asyncio.run(migrate())
    print(f"restored {source} (schema {version}) to {db_path}; schema now {new_version}")
    print(
        "warning: personal data erased (/forgetme) after this backup was made comes back "
        f"with it; {len(erased)} recorded erasure(s) were applied again. Erasures older than "
        "the erased_users list (schema 6) cannot be known: check with the office.",
        file=sys.stderr,
    )
    return 0


def _erased_ids(path: Path) -> set[int]:
    """The user ids recorded as erased in a database file (none if it has no such list)."""
    if not path.is_file():
        return set()
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return {int(r[0]) for r in con.execute("SELECT user_id FROM erased_users")}
        finally:
            con.close()
    except sqlite3.Error:
        return set()


def _forgetters(settings: Settings) -> list[Callable[[Any, int], Awaitable[list[str]]]]:
    """Every feature's /forgetme eraser, as the bot registers them."""
    from pydantic import SecretStr

    from bot.app import build_application  # the CLI sits above the app (imported late)

    if settings.bot_token is None:  # build_application needs a token; a dummy one will do
        settings = settings.model_copy(update={"bot_token": SecretStr("0:restore")})
    return list(build_application(settings).bot_data["services"].forgetters)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot reported itself healthy recently, else 1 (Docker HEALTHCHECK)."""
    from bot.workers.health import read_health

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
    from bot.store import reports
    from bot.workers.health import read_health

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
            first: date = args.since if isinstance(args.since, date) else day(args.since)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--since: {exc}") from None
        since = int(datetime(first.year, first.month, first.day, tzinfo=settings.tz).timestamp())

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
    p = command(
        sub,
        "backup",
        "consistent copy of the live database (online backup API)",
        "loa backup /data/backups/",
    )
    p.add_argument("path", metavar="PATH", help="target file, or a folder for loa-<date>-<time>.db")
    add_force(p)
    p.set_defaults(func=cmd_backup)
    p = command(
        sub,
        "restore",
        "replace the database by a backup (stop the bot first)",
        "loa restore /data/backups/loa-2022-06-30-0300.db",
    )
    p.add_argument("path", metavar="BACKUP", help="the backup file")
    p.add_argument("--force", action="store_true", help="even if the bot seems to be running")
    p.set_defaults(func=cmd_restore)
    command(
        sub, "health", "exit 1 unless the running bot is healthy (Docker HEALTHCHECK)", "loa health"
    ).set_defaults(func=cmd_health)
    command(
        sub, "status", "schema, counts, next broadcast, last backup", "loa status"
    ).set_defaults(func=cmd_status)
    p = command(
        sub, "audit", "print the audit log, oldest first", "loa audit --since 01/04/2022 --limit 50"
    )
    p.add_argument("--since", type=day, help="first local day, dd/mm/yyyy or yyyy-mm-dd")
    p.add_argument("--limit", type=positive_int, default=1000, help="at most N entries (newest)")
    p.set_defaults(func=cmd_audit)
    p = command(
        sub,
        "report",
        "quarterly report as Markdown with a PNG chart beside it",
        "loa report --quarter 2022-Q2 -o reports/quy-2-2022.md",
    )
    p.add_argument(
        "--quarter", required=True, help="e.g. 2022-Q2, 'quý II/2022', or Q2 (this year)"
    )
    p.add_argument("-o", "--output", default=None, help="report file (default report-<quarter>.md)")
    add_force(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """`loa report --quarter 2022-Q2 [-o report.md]`: Markdown plus <name>.png beside it."""
    from bot.charts import render_stats_chart
    from bot.domain.errors import InvalidInput
    from bot.domain.periods import parse_period
    from bot.domain.stats import render_markdown
    from bot.store import reports

    today = datetime.now(settings.tz).date()
    try:
        period = parse_period(args.quarter, today)
    except InvalidInput as exc:
        print(f"loa: --quarter: {exc.user_message}", file=sys.stderr)
        return 2
    if str(period.start.year) not in args.quarter:
        print(f"--quarter {args.quarter}: taking {period.key} (this year)", file=sys.stderr)
    force = getattr(args, "force", False)
    output = output_file(args.output or f"report-{period.key}.md", force=force)
    # The chart sits beside the report, named after it (report.md -> report.png).
    chart = output.with_name(output.stem + ".png")
    output_file(chart, force=force)

    async def read(db: Database) -> reports.Stats:
        from bot.actions.casework import policy_of

        return await reports.gather_stats(db, period, settings.tz, policy=policy_of(settings))

    try:
        stats: reports.Stats = _run_read_only(settings, read)
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    chart.write_bytes(render_stats_chart(stats))
    generated = clock.format_local(time.time(), settings.tz)
    output.write_text(render_markdown(stats, chart.name, generated), encoding="utf-8")
    print(f"report {period.label} written to {output} (chart {chart})")
    return 0
