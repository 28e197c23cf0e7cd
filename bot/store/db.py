"""The database handle: pragmas, migrations and the transaction helper."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

# SQL parameters: positional (`?`) or named (`:name`), as sqlite3 accepts them.
Params = Sequence[Any] | Mapping[str, Any]

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

# Pragmas applied to every connection. WAL lets readers run beside the writer;
# synchronous=NORMAL is durable across process crashes in WAL mode (only a power
# loss can drop the last commits: https://www.sqlite.org/pragma.html#pragma_synchronous).
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


@dataclass(frozen=True)
class Migration:
    """One numbered .sql file under bot/store/migrations/."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """All migrations shipped with the package, in version order."""
    found: list[Migration] = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (triggers included) for execute()."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise RuntimeError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")
    return statements


class Database:
    """One aiosqlite connection shared by the whole bot; writes are serialised by a lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # One connection means one transaction at a time: concurrent handlers would
        # otherwise interleave their statements inside each other's BEGIN…COMMIT.
        self._lock = asyncio.Lock()
        # In-memory copies of read-mostly rows, each kept by the store module that writes
        # those rows and cleared there on every write (e.g. "articles": bot.store.articles).
        self.memo: dict[str, Any] = {}

    @property
    def is_open(self) -> bool:
        """True between open() and close()."""
        return self._conn is not None

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open connection; raises if open() was not awaited."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self, *, migrate: bool = True) -> int:
        """Open the file (creating its folder), set pragmas, apply migrations; return version."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit BEGIN from the sqlite3 module; we say BEGIN.
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await self._conn.execute(pragma)
        if migrate:
            return await self.migrate()
        return await self.schema_version()

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def __aenter__(self) -> Database:
        try:
            await self.open()
        except BaseException:
            # A half-opened connection still owns a non-daemon thread that would keep
            # the interpreter from exiting.
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """Highest applied migration number (0 for a new file)."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        async with self.conn.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self) -> int:
        """Apply every migration not yet recorded, each with its record in one transaction."""
        async with self._lock:
            await self.schema_version()  # creates schema_migrations on a new file
            async with self.conn.execute("SELECT version FROM schema_migrations") as cur:
                applied = {int(row[0]) for row in await cur.fetchall()}
            for migration in load_migrations():
                if migration.version in applied:
                    continue
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in split_statements(migration.sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (?, ?, CAST(strftime('%s','now') AS INTEGER))",
                        (migration.version, migration.name),
                    )
                    await self.conn.execute("COMMIT")
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                log.info("applied migration %03d_%s", migration.version, migration.name)
            return await self.schema_version()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error; yields the connection."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only view consistent across several SELECTs (BEGIN DEFERRED)."""
        async with self._lock:
            await self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                await self.conn.execute("COMMIT")

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """Run one SELECT and return every row (one trip to the database thread)."""
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        """Run one SELECT and return the first row or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """Run one SELECT and return the first column of the first row (or None)."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write in its own transaction; return the number of changed rows.

        One statement is atomic on its own (autocommit: isolation_level=None), so this is
        one trip to the database thread instead of four (BEGIN, the statement, closing
        the cursor, COMMIT; issue 17). A finished write statement holds nothing open.
        """
        async with self._lock:
            cur = await self.conn.execute(sql, params)
            if cur.description is not None:  # … RETURNING: finish the statement (its rows)
                await cur.close()
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one write for many parameter rows in a single transaction."""
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


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
