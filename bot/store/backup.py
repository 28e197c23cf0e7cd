"""Consistent copies of the live SQLite database (pure sqlite3, blocking: run in a thread).

backup_database uses SQLite's online backup API (sqlite3.Connection.backup) from a
separate connection: one backup step holds a read transaction, so the copy is a
consistent snapshot while the bot keeps writing (WAL mode lets the writer continue).
Also the names of daily backup files and their rotation.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

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
    # Owner-only from the first byte (issue 10): a backup holds every personal record.
    os.close(os.open(part, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    os.chmod(part, 0o600)  # whatever the umask
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
