"""Read models of the web console: pages and counts aggregated and paginated in SQL.

Writes never happen here: the console changes data through the same store and action
functions as the Telegram handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.db import Database
from bot.store.rows import as_int, opt_float, opt_int, opt_str

MAX_PAGE = 200


def _page(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(MAX_PAGE, limit)), max(0, offset)


# --- overview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningBroadcast:
    """A broadcast being sent now, with its live progress."""

    id: int
    kind: str
    title: str
    total: int
    done: int
    sent: int
    failed: int


@dataclass(frozen=True)
class MissingAcks:
    """A directive some chats received but nobody there acknowledged."""

    id: int
    title: str
    delivered: int
    acked: int


@dataclass(frozen=True)
class Overview:
    """What the Tổng quan page shows."""

    comments_waiting: int
    comments_overdue: int  # waiting longer than two days
    answers_failed: int
    running: list[RunningBroadcast]
    missing_acks: list[MissingAcks]
    overdue_broadcasts: int  # queued with a time in the past that has not started
    awaiting_approval: int
    subscribers: int


async def overview(db: Database, now: int) -> Overview:
    """Counts for the overview page (each an indexed aggregate)."""
    async with db.snapshot() as conn:

        async def value(sql: str, params: Sequence[Any] = ()) -> int:
            async with conn.execute(sql, params) as cur:
                row = await cur.fetchone()
            return int(row[0] or 0) if row else 0

        waiting = await value("SELECT COUNT(*) FROM comments WHERE status = 'received'")
        overdue = await value(
            "SELECT COUNT(*) FROM comments WHERE status = 'received' AND created_at < ?",
            (now - 2 * 86400,),
        )
        failed = await value("SELECT COUNT(*) FROM comments WHERE answer_failed IS NOT NULL")
        late = await value(
            "SELECT COUNT(*) FROM broadcasts WHERE state = 'queued' AND scheduled_at < ?",
            (now - 300,),
        )
        awaiting = await value(
            "SELECT COUNT(*) FROM broadcasts WHERE state = 'awaiting_approval' AND auto = 0"
        )
        subscribers = await value("SELECT COUNT(*) FROM subscriptions WHERE active = 1")
        async with conn.execute(
            "SELECT b.id, b.kind, COALESCE(b.title, substr(b.body, 1, 80)), b.total,"
            " SUM(d.state IN ('sent','failed','blocked','skipped','cancelled')),"
            " SUM(d.state = 'sent'), SUM(d.state IN ('failed','blocked'))"
            " FROM broadcasts b LEFT JOIN deliveries d ON d.broadcast_id = b.id"
            " WHERE b.state IN ('queued', 'sending') GROUP BY b.id ORDER BY b.id DESC LIMIT 20"
        ) as cur:
            running = [
                RunningBroadcast(
                    as_int(r[0]),
                    str(r[1]),
                    str(r[2] or ""),
                    as_int(r[3]),
                    int(r[4] or 0),
                    int(r[5] or 0),
                    int(r[6] or 0),
                )
                for r in await cur.fetchall()
            ]
        async with conn.execute(
            "SELECT b.id, COALESCE(b.title, substr(b.body, 1, 80)),"
            " (SELECT COUNT(*) FROM deliveries d WHERE d.broadcast_id = b.id"
            "   AND d.state = 'sent'),"
            " (SELECT COUNT(DISTINCT a.chat_id) FROM acks a WHERE a.broadcast_id = b.id)"
            " FROM broadcasts b WHERE b.kind = 'directive' AND b.with_ack = 1"
            " AND b.state IN ('sending', 'done') ORDER BY b.id DESC LIMIT 10"
        ) as cur:
            missing = [
                MissingAcks(as_int(r[0]), str(r[1] or ""), int(r[2] or 0), int(r[3] or 0))
                for r in await cur.fetchall()
            ]
    return Overview(
        waiting,
        overdue,
        failed,
        running,
        [m for m in missing if m.acked < m.delivered],
        late,
        awaiting,
        subscribers,
    )


# --- comments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommentLine:
    """A comment in the moderation list."""

    id: int
    created_at: int
    status: str
    article_id: str | None
    text: str
    answer: str | None
    user_name: str | None
    banned: bool


async def comments_page(
    db: Database,
    *,
    status: str | None,
    article_id: str | None,
    since: int | None,
    until: int | None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[CommentLine], int]:
    """Comments matching the filters, oldest waiting first for the queue, else newest."""
    limit, offset = _page(limit, offset)
    where: list[str] = ["c.status != 'deleted'"]
    params: list[Any] = []
    if status:
        where.append("c.status = ?")
        params.append(status)
    if article_id:
        where.append("c.article_id = ?")
        params.append(article_id)
    if since is not None:
        where.append("c.created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("c.created_at < ?")
        params.append(until)
    clause = " AND ".join(where)
    order = "c.created_at ASC, c.id" if status == "received" else "c.created_at DESC, c.id DESC"
    async with db.snapshot() as conn:
        async with conn.execute(f"SELECT COUNT(*) FROM comments c WHERE {clause}", params) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT c.id, c.created_at, c.status, c.article_id, c.text_masked, c.answer,"
            " c.user_name, EXISTS (SELECT 1 FROM bans fb WHERE fb.user_id = c.user_id)"
            f" FROM comments c WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
    lines = [
        CommentLine(
            as_int(r[0]),
            as_int(r[1]),
            str(r[2]),
            opt_str(r[3]),
            str(r[4]),
            opt_str(r[5]),
            opt_str(r[6]),
            bool(r[7]),
        )
        for r in rows
    ]
    return lines, int(row[0]) if row else 0


@dataclass(frozen=True)
class HistoryEntry:
    """One audited step in a comment's (or anything's) history."""

    at: int
    actor_id: int | None
    actor_role: str | None
    action: str
    detail: str | None


async def history(db: Database, target: str, limit: int = 100) -> list[HistoryEntry]:
    """Audit entries about one target ("comment:12", "42"), oldest first."""
    rows = await db.fetch_all(
        "SELECT at, actor_id, actor_role, action, detail FROM audit_log WHERE target = ?"
        " ORDER BY id LIMIT ?",
        (target, limit),
    )
    return [
        HistoryEntry(as_int(r[0]), opt_int(r[1]), opt_str(r[2]), str(r[3]), opt_str(r[4]))
        for r in rows
    ]


# --- broadcasts and deliveries -------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastLine:
    """A broadcast in the list, with delivery counts."""

    id: int
    kind: str
    state: str
    auto: bool
    title: str
    created_at: int
    scheduled_at: int | None
    total: int
    sent: int
    failed: int
    pending: int


async def broadcasts_page(
    db: Database, *, kind: str | None = None, limit: int = 30, offset: int = 0
) -> tuple[list[BroadcastLine], int]:
    """Newest broadcasts first, counts per page aggregated from the deliveries index."""
    limit, offset = _page(limit, offset)
    where = "WHERE b.kind = ?" if kind else ""
    params: list[Any] = [kind] if kind else []
    async with db.snapshot() as conn:
        async with conn.execute(f"SELECT COUNT(*) FROM broadcasts b {where}", params) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT b.id, b.kind, b.state, b.auto, COALESCE(b.title, substr(b.body, 1, 120)),"
            " b.created_at, b.scheduled_at, b.total,"
            " (SELECT COUNT(*) FROM deliveries d WHERE d.broadcast_id = b.id AND d.state = 'sent'),"
            " (SELECT COUNT(*) FROM deliveries d WHERE d.broadcast_id = b.id"
            "   AND d.state IN ('failed', 'blocked')),"
            " (SELECT COUNT(*) FROM deliveries d WHERE d.broadcast_id = b.id"
            "   AND d.state IN ('pending', 'sending'))"
            f" FROM broadcasts b {where} ORDER BY b.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
    lines = [
        BroadcastLine(
            as_int(r[0]),
            str(r[1]),
            str(r[2]),
            bool(r[3]),
            str(r[4] or ""),
            as_int(r[5]),
            opt_int(r[6]),
            as_int(r[7]),
            int(r[8] or 0),
            int(r[9] or 0),
            int(r[10] or 0),
        )
        for r in rows
    ]
    return lines, int(row[0]) if row else 0


@dataclass(frozen=True)
class DeliveryLine:
    """One recipient of a broadcast."""

    chat_id: int
    title: str | None
    chat_type: str
    unit: str | None
    state: str
    error: str | None
    attempts: int
    at: float | None  # sent (or last update) time


@dataclass(frozen=True)
class DeliveryFilter:
    """Filters of the delivery table."""

    state: str | None = None
    unit: str | None = None
    query: str | None = None  # part of the chat title or id

    def sql(self) -> tuple[str, list[Any]]:
        """Extra WHERE conditions and their parameters."""
        where = ""
        params: list[Any] = []
        if self.state:
            where += " AND d.state = ?"
            params.append(self.state)
        if self.unit:
            where += " AND s.unit = ?"
            params.append(self.unit)
        if self.query:
            where += " AND (c.title LIKE ? ESCAPE '\\' OR CAST(c.id AS TEXT) = ?)"
            like = self.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.extend([f"%{like}%", self.query])
        return where, params


_DELIVERY_FROM = (
    " FROM deliveries d JOIN chats c ON c.id = d.chat_id"
    " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id WHERE d.broadcast_id = ?"
)

# CROSS JOIN makes SQLite keep chats as the outer loop (sqlite.org/optoverview.html).
_DELIVERY_BY_CHAT = (
    " FROM chats c CROSS JOIN deliveries d ON d.broadcast_id = ? AND d.chat_id = c.id"
    " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id WHERE 1 = 1"
)


def _delivery(r: Any) -> DeliveryLine:
    return DeliveryLine(
        as_int(r[0]),
        opt_str(r[1]),
        str(r[2]),
        opt_str(r[3]),
        str(r[4]),
        opt_str(r[5]),
        as_int(r[6]),
        opt_float(r[7]),
    )


# By state, then in sending order: failures sit together, and it is the order of the
# deliveries_broadcast_state index.
_DELIVERY_ORDER = "d.state, d.id"
_DELIVERY_COLUMNS = (
    "SELECT d.chat_id, c.title, c.type, s.unit, d.state, d.last_error, d.attempts,"
    " COALESCE(d.sent_at, d.updated_at)"
)


async def deliveries_page(
    db: Database, broadcast_id: int, f: DeliveryFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[DeliveryLine], int]:
    """One page of a broadcast's recipients (chat, unit, state, error, time).

    Without a unit or name filter the page and the count come from the deliveries index
    alone and only the page's rows are joined to chats (100,000 recipients: bench/console).
    """
    limit, offset = _page(limit, offset)
    where, params = f.sql()
    async with db.snapshot() as conn:
        if f.unit or f.query:
            # One pass: the filter needs the joins anyway; the total rides along. A name
            # search scans chats (small rows) and finds each one's delivery by the
            # (broadcast_id, chat_id) key instead of joining every delivery to its chat.
            source = _DELIVERY_BY_CHAT if f.query else _DELIVERY_FROM
            async with conn.execute(
                f"{_DELIVERY_COLUMNS}, COUNT(*) OVER (){source}{where}"
                f" ORDER BY {_DELIVERY_ORDER} LIMIT ? OFFSET ?",
                [broadcast_id, *params, limit, offset],
            ) as cur:
                found = list(await cur.fetchall())
            if found:
                return [_delivery(r) for r in found], int(found[0][-1])
            async with conn.execute(
                f"SELECT COUNT(*) {source}{where}", [broadcast_id, *params]
            ) as cur:
                row = await cur.fetchone()
            return [], int(row[0]) if row else 0
        state = " AND d.state = ?" if f.state else ""
        async with conn.execute(
            f"SELECT COUNT(*) FROM deliveries d WHERE d.broadcast_id = ?{state}",
            [broadcast_id, *params],
        ) as cur:
            row = await cur.fetchone()
        # The page's ids come from the (broadcast_id, state) index in its own order (no
        # sort of 100,000 rows); only those rows are joined.
        async with conn.execute(
            f"{_DELIVERY_COLUMNS} FROM (SELECT d.id FROM deliveries d"
            f" WHERE d.broadcast_id = ?{state} ORDER BY {_DELIVERY_ORDER} LIMIT ? OFFSET ?) p"
            " JOIN deliveries d ON d.id = p.id JOIN chats c ON c.id = d.chat_id"
            f" LEFT JOIN subscriptions s ON s.chat_id = d.chat_id ORDER BY {_DELIVERY_ORDER}",
            [broadcast_id, *params, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
    return [_delivery(r) for r in rows], int(row[0]) if row else 0


async def all_deliveries(db: Database, broadcast_id: int, f: DeliveryFilter) -> list[DeliveryLine]:
    """Every recipient matching the filter (exports)."""
    where, params = f.sql()
    rows = await db.fetch_all(
        f"{_DELIVERY_COLUMNS}{_DELIVERY_FROM}{where} ORDER BY {_DELIVERY_ORDER}",
        [broadcast_id, *params],
    )
    return [_delivery(r) for r in rows]


# --- directives: acknowledgement board --------------------------------------------------


@dataclass(frozen=True)
class UnitBoard:
    """Acknowledgements of one directive in one unit."""

    unit: str | None
    delivered: int
    acked: int


@dataclass(frozen=True)
class AckLine:
    """One chat that received a directive: who acknowledged, when (None: nobody yet)."""

    chat_id: int
    title: str | None
    unit: str | None
    acked_at: int | None
    acked_by: str | None


async def ack_board(db: Database, broadcast_id: int) -> list[UnitBoard]:
    """Per unit: chats that received the directive and chats that acknowledged it."""
    rows = await db.fetch_all(
        "SELECT s.unit, COUNT(*), SUM(EXISTS (SELECT 1 FROM acks a"
        "  WHERE a.broadcast_id = d.broadcast_id AND a.chat_id = d.chat_id))"
        " FROM deliveries d LEFT JOIN subscriptions s ON s.chat_id = d.chat_id"
        " WHERE d.broadcast_id = ? AND d.state = 'sent' GROUP BY s.unit ORDER BY s.unit",
        (broadcast_id,),
    )
    return [UnitBoard(opt_str(r[0]), int(r[1] or 0), int(r[2] or 0)) for r in rows]


async def ack_lines(
    db: Database,
    broadcast_id: int,
    *,
    missing_only: bool = False,
    limit: int = MAX_PAGE,
    offset: int = 0,
) -> tuple[list[AckLine], int]:
    """The chats of a directive with the first acknowledgement (time, person), by unit."""
    limit, offset = (max(1, limit), max(0, offset))
    cond = (
        " AND NOT EXISTS (SELECT 1 FROM acks a2 WHERE a2.broadcast_id = d.broadcast_id"
        " AND a2.chat_id = d.chat_id)"
        if missing_only
        else ""
    )
    base = (
        " FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id"
        f" WHERE d.broadcast_id = ? AND d.state = 'sent'{cond}"
    )
    async with db.snapshot() as conn:
        async with conn.execute(f"SELECT COUNT(*){base}", (broadcast_id,)) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT d.chat_id, c.title, s.unit,"
            " (SELECT MIN(a.at) FROM acks a WHERE a.broadcast_id = d.broadcast_id"
            "   AND a.chat_id = d.chat_id),"
            " (SELECT u.name FROM acks a LEFT JOIN users u ON u.id = a.user_id"
            "   WHERE a.broadcast_id = d.broadcast_id AND a.chat_id = d.chat_id"
            "   ORDER BY a.at LIMIT 1)"
            f"{base} ORDER BY s.unit, c.title, d.chat_id LIMIT ? OFFSET ?",
            (broadcast_id, limit, offset),
        ) as cur:
            rows = await cur.fetchall()
    lines = [
        AckLine(as_int(r[0]), opt_str(r[1]), opt_str(r[2]), opt_int(r[3]), opt_str(r[4]))
        for r in rows
    ]
    return lines, int(row[0]) if row else 0


# --- groups and units -------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriberLine:
    """A subscribed chat."""

    chat_id: int
    title: str | None
    chat_type: str
    active: bool
    approval: str
    unit: str | None
    topics: str
    inactive_reason: str | None


async def subscribers_page(
    db: Database,
    *,
    kind: str | None,
    approval: str | None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SubscriberLine], int]:
    """Subscribed chats: groups first (pending approval first), then private chats."""
    limit, offset = _page(limit, offset)
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if kind == "group":
        where.append("c.type != 'private'")
    elif kind == "private":
        where.append("c.type = 'private'")
    if approval:
        where.append("s.approval = ?")
        params.append(approval)
    clause = " AND ".join(where)
    base = f" FROM subscriptions s JOIN chats c ON c.id = s.chat_id WHERE {clause}"
    # Groups (a few thousand): waiting for approval first, then by title. Everything else
    # in chat id order, which is the table's key (no sort of 100,000 rows); group ids are
    # negative, so groups still come first.
    order = "s.approval != 'pending', c.title, s.chat_id" if kind == "group" else "s.chat_id"
    async with db.snapshot() as conn:
        async with conn.execute(f"SELECT COUNT(*){base}", params) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT s.chat_id, c.title, c.type, s.active, s.approval, s.unit, s.topics,"
            f" s.inactive_reason{base}"
            f" ORDER BY {order}"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
    lines = [
        SubscriberLine(
            as_int(r[0]),
            opt_str(r[1]),
            str(r[2]),
            bool(r[3]),
            str(r[4]),
            opt_str(r[5]),
            str(r[6] or ""),
            opt_str(r[7]),
        )
        for r in rows
    ]
    return lines, int(row[0]) if row else 0


async def unit_counts(db: Database) -> list[tuple[str, int]]:
    """Active subscribed chats per unit."""
    rows = await db.fetch_all(
        "SELECT unit, COUNT(*) FROM subscriptions WHERE active = 1 AND unit IS NOT NULL"
        " GROUP BY unit ORDER BY unit"
    )
    return [(str(r[0]), int(r[1])) for r in rows]


# --- audit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditLine:
    """An audit entry with the actor's stored name."""

    id: int
    at: int
    actor_id: int | None
    actor_name: str | None
    actor_role: str | None
    action: str
    target: str | None
    detail: str | None


async def audit_page(
    db: Database,
    *,
    action: str | None,
    actor_id: int | None,
    since: int | None,
    until: int | None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditLine], int]:
    """Audit entries matching the filters, newest first."""
    limit, offset = _page(limit, offset)
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if action:
        where.append("a.action LIKE ? ESCAPE '\\'")
        params.append(action.replace("%", "\\%").replace("_", "\\_") + "%")
    if actor_id is not None:
        where.append("a.actor_id = ?")
        params.append(actor_id)
    if since is not None:
        where.append("a.at >= ?")
        params.append(since)
    if until is not None:
        where.append("a.at < ?")
        params.append(until)
    clause = " AND ".join(where)
    async with db.snapshot() as conn:
        async with conn.execute(f"SELECT COUNT(*) FROM audit_log a WHERE {clause}", params) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT a.id, a.at, a.actor_id, u.name, a.actor_role, a.action, a.target, a.detail"
            f" FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id WHERE {clause}"
            " ORDER BY a.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
    lines = [
        AuditLine(
            as_int(r[0]),
            as_int(r[1]),
            opt_int(r[2]),
            opt_str(r[3]),
            opt_str(r[4]),
            str(r[5]),
            opt_str(r[6]),
            opt_str(r[7]),
        )
        for r in rows
    ]
    return lines, int(row[0]) if row else 0


async def audit_actions(db: Database) -> list[str]:
    """The distinct actions in the audit log (the filter's choices)."""
    rows = await db.fetch_all("SELECT DISTINCT action FROM audit_log ORDER BY action")
    return [str(r[0]) for r in rows]
