"""Reports and operations storage: staff roles, backups log, status and statistics queries.

The statistics read the tables of other features (articles, broadcasts, feedback)
read-only and defensively: a table or column that does not exist counts as zero and
is logged once per query, so a report never fails because a feature is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import aiosqlite

from bot.domain.casework import CasePolicy, figures
from bot.domain.periods import Period
from bot.domain.roles import Role
from bot.domain.stats import (
    NO_UNIT,
    ArticleReads,
    ChatCounts,
    Stats,
    UnitAck,
    median,
    week_start,
    weeks_of,
)
from bot.store.cases import case_facts
from bot.store.db import Database
from bot.store.staff import record_audit

log = logging.getLogger(__name__)


# --- schema introspection ---------------------------------------------------------


async def table_columns(conn: aiosqlite.Connection, table: str) -> frozenset[str]:
    """Column names of `table` (empty when the table does not exist)."""
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ) as cur:
        if await cur.fetchone() is None:
            return frozenset()
    # PRAGMA arguments cannot be parameters; `table` is always one of our literals.
    async with conn.execute(f"PRAGMA table_info({table})") as cur:
        return frozenset(str(row[1]) for row in await cur.fetchall())


class Schema:
    """Which tables and columns exist, asked once per report (inside one snapshot)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._cache: dict[str, frozenset[str]] = {}
        self.missing: list[str] = []

    async def has(self, table: str, *columns: str) -> bool:
        """True when the table exists with all the columns; else log and remember it."""
        if table not in self._cache:
            self._cache[table] = await table_columns(self.conn, table)
        cols = self._cache[table]
        lacking = [c for c in columns if c not in cols]
        if not cols or lacking:
            what = table if not cols else f"{table}({', '.join(lacking)})"
            if what not in self.missing:
                self.missing.append(what)
                log.info("report: %s not in the database, counted as zero", what)
            return False
        return True

    async def value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """First column of the first row (None when no row)."""
        async with self.conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
        """Every row of a query."""
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())


# --- staff roles ------------------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    """A stored role grant with the names the bot knows."""

    user_id: int
    role: Role
    granted_by: int | None
    granted_at: int
    name: str | None
    username: str | None


async def list_staff(db: Database) -> list[StaffMember]:
    """Every stored grant (owners are not stored), highest role first."""
    rows = await db.fetch_all(
        "SELECT s.user_id, s.role, s.granted_by, s.granted_at, u.name, u.username"
        " FROM staff_roles s LEFT JOIN users u ON u.id = s.user_id"
        " ORDER BY CASE s.role WHEN 'admin' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END, s.granted_at"
    )
    return [StaffMember(r[0], Role(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


async def user_names(db: Database, user_ids: list[int]) -> dict[int, str]:
    """Known display names ("Name (@username)") of some users."""
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    rows = await db.fetch_all(
        f"SELECT id, name, username FROM users WHERE id IN ({marks})", tuple(user_ids)
    )
    names: dict[int, str] = {}
    for user_id, name, username in rows:
        label = name or ""
        if username:
            label = f"{label} (@{username})" if label else f"@{username}"
        if label:
            names[int(user_id)] = label
    return names


async def find_user_by_username(db: Database, username: str) -> int | None:
    """The id of a user the bot has seen with this @username (case-insensitive)."""
    value = await db.fetch_value(
        "SELECT id FROM users WHERE lower(username) = lower(?) ORDER BY last_seen DESC LIMIT 1",
        (username.lstrip("@"),),
    )
    return None if value is None else int(value)


async def set_role(
    db: Database,
    *,
    user_id: int,
    role: Role | None,
    actor_id: int,
    actor_role: Role,
    at: int,
) -> Role | None:
    """Grant `role` (None: revoke) and audit it in one transaction; return the previous role.

    Nothing is written (and no audit entry made) when the role does not change.
    """
    if role is Role.OWNER:
        raise ValueError("owners come from LOA_ADMIN_IDS and are never stored")
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT role FROM staff_roles WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        previous = None if row is None else Role(row[0])
        if previous == role:
            return previous
        if role is None:
            await conn.execute("DELETE FROM staff_roles WHERE user_id = ?", (user_id,))
            action = "role.revoke"
        else:
            await conn.execute(
                "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " role = excluded.role, granted_by = excluded.granted_by,"
                " granted_at = excluded.granted_at",
                (user_id, role.value, actor_id, at),
            )
            action = "role.grant"
        await record_audit(
            conn,
            at=at,
            actor_id=actor_id,
            actor_role=actor_role.value,
            action=action,
            target=user_id,
            detail={"role": role.value if role else None, "previous": previous},
        )
    return previous


# --- backups ----------------------------------------------------------------------


@dataclass(frozen=True)
class BackupRecord:
    """One row of the backups log."""

    id: int
    at: int
    kind: str
    path: str
    size: int | None
    seconds: float | None
    ok: bool
    error: str | None


_BACKUP_COLUMNS = "id, at, kind, path, size, seconds, ok, error"


async def record_backup(
    db: Database,
    *,
    at: int,
    kind: str,
    path: str,
    size: int | None,
    seconds: float | None,
    ok: bool,
    error: str | None = None,
) -> None:
    """Log a finished (or failed) backup."""
    await db.execute(
        "INSERT INTO backups (at, kind, path, size, seconds, ok, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, kind, path, size, seconds, int(ok), error),
    )


async def last_backup(
    db: Database, *, kind: str | None = None, ok: bool = True
) -> BackupRecord | None:
    """The latest successful (or, with ok=False, any) backup, optionally of one kind."""
    if not await db.fetch_value(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backups'"
    ):
        return None
    where = ["1 = 1"]
    params: list[Any] = []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if ok:
        where.append("ok = 1")
    row = await db.fetch_one(
        f"SELECT {_BACKUP_COLUMNS} FROM backups WHERE {' AND '.join(where)}"
        " ORDER BY at DESC, id DESC LIMIT 1",
        tuple(params),
    )
    if row is None:
        return None
    return BackupRecord(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7])


# --- status -----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """What `loa status` prints."""

    schema_version: int
    chats_by_type: dict[str, int]  # active chats per Telegram type
    chats_inactive: int
    subscriptions: int | None  # active subscriptions (None: feature absent)
    pending_deliveries: int | None
    pending_comments: int | None
    next_broadcast_at: int | None
    next_broadcast_id: int | None
    last_backup: BackupRecord | None
    missing: tuple[str, ...]


async def status(db: Database) -> Status:
    """Counts for `loa status`, reading other features' tables only if they exist."""
    version = await db.schema_version()
    backup = await last_backup(db)
    async with db.snapshot() as conn:
        schema = Schema(conn)
        by_type = {
            str(r[0]): int(r[1])
            for r in await schema.rows(
                "SELECT type, COUNT(*) FROM chats WHERE active = 1 GROUP BY type ORDER BY type"
            )
        }
        inactive = int(await schema.value("SELECT COUNT(*) FROM chats WHERE active = 0") or 0)
        subs = None
        if await schema.has("subscriptions", "active"):
            subs = int(await schema.value("SELECT COUNT(*) FROM subscriptions WHERE active = 1"))
        pending = None
        if await schema.has("deliveries", "state"):
            pending = int(
                await schema.value(
                    "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                )
            )
        comments = None
        if await schema.has("comments", "status"):
            # 'received': waiting for a moderator's decision (issue 5's life cycle).
            comments = int(
                await schema.value("SELECT COUNT(*) FROM comments WHERE status = 'received'")
            )
        next_at = next_id = None
        if await schema.has("broadcasts", "state", "scheduled_at"):
            row = await schema.rows(
                "SELECT id, scheduled_at FROM broadcasts"
                " WHERE state IN ('queued', 'awaiting_approval') AND scheduled_at IS NOT NULL"
                " AND scheduled_at > CAST(strftime('%s', 'now') AS INTEGER)"
                " ORDER BY scheduled_at LIMIT 1"
            )
            if row:
                next_id, next_at = int(row[0][0]), int(row[0][1])
    return Status(
        schema_version=version,
        chats_by_type=by_type,
        chats_inactive=inactive,
        subscriptions=subs,
        pending_deliveries=pending,
        pending_comments=comments,
        next_broadcast_at=next_at,
        next_broadcast_id=next_id,
        last_backup=backup,
        missing=tuple(schema.missing),
    )


# --- statistics of a period -------------------------------------------------------


async def _subs_at(schema: Schema, at: int) -> ChatCounts:
    """Subscribed chats at a moment, from created_at / active / updated_at.

    A subscription counts at `at` when it was created before and is still active, or was
    deactivated (its last change) after `at`. Approximation: a chat that left and came back
    counts from its first subscription; its audience is the current one.
    """
    rows = await schema.rows(
        "SELECT CASE WHEN c.type = 'private' THEN 'private'"
        " WHEN s.audience = 'cadre' THEN 'cadre' ELSE 'groups' END AS kind, COUNT(*)"
        " FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
        " WHERE s.created_at < ? AND (s.active = 1 OR s.updated_at >= ?)"
        " GROUP BY kind",
        (at, at),
    )
    counts = {str(r[0]): int(r[1]) for r in rows}
    return ChatCounts(counts.get("private", 0), counts.get("groups", 0), counts.get("cadre", 0))


def _weekly(hour_counts: list[aiosqlite.Row], period: Period, tz: tzinfo) -> dict[date, int]:
    """Counts per hour bucket (unix hour) → counts per local week (Monday)."""
    out = {monday: 0 for monday in weeks_of(period)}
    for hour, count in hour_counts:
        day = datetime.fromtimestamp(int(hour) * 3600, tz).date()
        monday = week_start(day)
        if monday in out:
            out[monday] += int(count)
    return out


async def gather_stats(
    db: Database,
    period: Period,
    tz: tzinfo,
    top: int = 5,
    *,
    policy: CasePolicy | None = None,
    today: date | None = None,
) -> Stats:
    """Every figure of the period, read in one consistent snapshot; with the casework
    `policy`, also the cases by category and unit (deadlines in working days)."""
    start, end = period.bounds(tz)
    first_day, end_day = period.start.isoformat(), period.end.isoformat()
    values: dict[str, Any] = {}
    async with db.snapshot() as conn:
        schema = Schema(conn)
        if await schema.has("subscriptions", "created_at", "updated_at", "active", "audience"):
            values["subs_start"] = await _subs_at(schema, start)
            values["subs_end"] = await _subs_at(schema, end)
            values["subs_new"] = int(
                await schema.value(
                    "SELECT COUNT(*) FROM subscriptions WHERE created_at >= ? AND created_at < ?",
                    (start, end),
                )
            )
            values["subs_left"] = int(
                await schema.value(
                    "SELECT COUNT(*) FROM subscriptions WHERE active = 0"
                    " AND updated_at >= ? AND updated_at < ?",
                    (start, end),
                )
            )
        if await schema.has("broadcasts", "kind", "started_at"):
            # Polls ride on announcement broadcasts (issue 16): counted as polls, not here.
            not_poll = ""
            if await schema.has("polls", "broadcast_id", "stop_broadcast_id"):
                not_poll = (
                    " AND id NOT IN (SELECT broadcast_id FROM polls UNION"
                    " SELECT stop_broadcast_id FROM polls WHERE stop_broadcast_id IS NOT NULL)"
                )
            kinds = {
                str(r[0]): int(r[1])
                for r in await schema.rows(
                    "SELECT kind, COUNT(*) FROM broadcasts"
                    f" WHERE started_at >= ? AND started_at < ?{not_poll} GROUP BY kind",
                    (start, end),
                )
            }
            values["broadcasts"] = sum(kinds.values())
            values["announcements"] = kinds.get("announcement", 0)
            values["directives"] = kinds.get("directive", 0)
        if await schema.has("deliveries", "state", "sent_at", "updated_at"):
            states = {
                str(r[0]): int(r[1])
                for r in await schema.rows(
                    "SELECT state, COUNT(*) FROM deliveries"
                    " WHERE COALESCE(sent_at, updated_at) >= ?"
                    " AND COALESCE(sent_at, updated_at) < ? GROUP BY state",
                    (start, end),
                )
            }
            values["delivered"] = states.get("sent", 0)
            values["failed"] = states.get("failed", 0)
            values["blocked"] = states.get("blocked", 0)
            values["weekly_deliveries"] = _weekly(
                await schema.rows(
                    "SELECT CAST(sent_at / 3600 AS INTEGER) AS h, COUNT(*) FROM deliveries"
                    " WHERE state = 'sent' AND sent_at >= ? AND sent_at < ? GROUP BY h",
                    (start, end),
                ),
                period,
                tz,
            )
        if (
            await schema.has("broadcasts", "kind", "started_at")
            and await schema.has("deliveries", "broadcast_id", "chat_id", "state")
            and await schema.has("acks", "broadcast_id", "chat_id")
        ):
            unit_sql = "NULL"
            join = ""
            if await schema.has("subscriptions", "unit"):
                unit_sql = "s.unit"
                join = " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id"
                if await schema.has("units", "name") and await schema.has("unit_codes", "code"):
                    # Units by name, never by code (issue 16's directory).
                    unit_sql = "COALESCE(un.name, s.unit)"
                    join += (
                        " LEFT JOIN unit_codes uc ON uc.code = s.unit"
                        " LEFT JOIN units un ON un.id = uc.unit_id"
                    )
            reminder = ""
            if await schema.has("broadcasts", "parent_id"):
                reminder = (
                    " OR a.broadcast_id IN (SELECT r.id FROM broadcasts r"
                    " WHERE r.parent_id = d.broadcast_id)"
                )
            rows = await schema.rows(
                f"SELECT {unit_sql} AS unit, COUNT(*),"
                " SUM(CASE WHEN EXISTS (SELECT 1 FROM acks a WHERE a.chat_id = d.chat_id"
                f" AND (a.broadcast_id = d.broadcast_id{reminder})) THEN 1 ELSE 0 END)"
                f" FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id{join}"
                " WHERE b.kind = 'directive' AND b.started_at >= ? AND b.started_at < ?"
                " AND d.state = 'sent' GROUP BY unit ORDER BY unit IS NULL, unit",
                (start, end),
            )
            values["ack_by_unit"] = tuple(
                UnitAck(str(r[0]) if r[0] else NO_UNIT, int(r[1]), int(r[2] or 0)) for r in rows
            )
        if await schema.has("articles", "date"):
            values["articles_published"] = int(
                await schema.value(
                    "SELECT COUNT(*) FROM articles WHERE date >= ? AND date < ?",
                    (first_day, end_day),
                )
            )
        if await schema.has("article_reads", "article_id", "day", "card_opens", "fulltext_opens"):
            totals = (
                await schema.rows(
                    "SELECT COALESCE(SUM(card_opens), 0), COALESCE(SUM(fulltext_opens), 0)"
                    " FROM article_reads WHERE day >= ? AND day < ?",
                    (first_day, end_day),
                )
            )[0]
            values["card_opens"], values["fulltext_opens"] = int(totals[0]), int(totals[1])
            title = "NULL"
            join = ""
            if await schema.has("articles", "title"):
                title, join = "a.title", " LEFT JOIN articles a ON a.id = r.article_id"
            rows = await schema.rows(
                f"SELECT r.article_id, {title}, SUM(r.card_opens) AS c, SUM(r.fulltext_opens) AS f"
                f" FROM article_reads r{join} WHERE r.day >= ? AND r.day < ?"
                " GROUP BY r.article_id ORDER BY f + c DESC, f DESC, r.article_id LIMIT ?",
                (first_day, end_day, top),
            )
            values["top_articles"] = tuple(
                ArticleReads(str(r[0]), r[1], int(r[2]), int(r[3])) for r in rows if r[2] or r[3]
            )
        if await schema.has("comments", "created_at", "decision", "answered_at"):
            row = (
                await schema.rows(
                    "SELECT COUNT(*), SUM(decision = 'approved'), SUM(decision = 'rejected'),"
                    " SUM(answered_at IS NOT NULL) FROM comments"
                    " WHERE created_at >= ? AND created_at < ?",
                    (start, end),
                )
            )[0]
            values["comments_received"] = int(row[0])
            values["comments_approved"] = int(row[1] or 0)
            values["comments_rejected"] = int(row[2] or 0)
            values["comments_answered"] = int(row[3] or 0)
            waits = await schema.rows(
                "SELECT answered_at - created_at FROM comments WHERE created_at >= ?"
                " AND created_at < ? AND answered_at IS NOT NULL",
                (start, end),
            )
            values["answer_median_seconds"] = median([float(r[0]) for r in waits])
            values["weekly_comments"] = _weekly(
                await schema.rows(
                    "SELECT CAST(created_at / 3600 AS INTEGER) AS h, COUNT(*) FROM comments"
                    " WHERE created_at >= ? AND created_at < ? GROUP BY h",
                    (start, end),
                ),
                period,
                tz,
            )
        if policy is not None and await schema.has(
            "comments", "category", "unit", "due_date", "resolved_at", "rating"
        ):
            facts = await case_facts(conn, start, end, policy)
            if facts:
                day = today or datetime.now(tz).date()
                cal = policy.calendar
                values["case_by_category"] = tuple(figures(facts, cal, day, by="category"))
                values["case_by_unit"] = tuple(figures(facts, cal, day, by="unit"))
                values["case_total"] = figures(facts, cal, day, by="total")[0]
    values.setdefault("weekly_deliveries", {m: 0 for m in weeks_of(period)})
    values.setdefault("weekly_comments", {m: 0 for m in weeks_of(period)})
    return Stats(period=period, missing=tuple(schema.missing), **values)
