"""Polls as stored (migration 009): the poll and its two broadcasts (send, stop), the
native polls sent per chat, answers per voter, totals per native poll, closing, /forgetme."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.domain import polls as rules
from bot.domain.broadcasts import Audience
from bot.domain.errors import NotFound
from bot.store.db import Database
from bot.store.drafts import create_draft
from bot.store.rows import as_bool, as_int, as_str, opt_int
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Poll:
    """A poll as stored."""

    id: int
    broadcast_id: int
    stop_broadcast_id: int | None
    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    closes_at: int
    closed_at: int | None
    created_by: int | None
    created_at: int

    @property
    def closed(self) -> bool:
        """Closed by its deadline (or early by staff)."""
        return self.closed_at is not None


_COLUMNS = (
    "id, broadcast_id, stop_broadcast_id, question, options, multiple, anonymous, closes_at,"
    " closed_at, created_by, created_at"
)


def _poll(r: aiosqlite.Row) -> Poll:
    return Poll(
        as_int(r[0]),
        as_int(r[1]),
        opt_int(r[2]),
        as_str(r[3]),
        tuple(json.loads(str(r[4]))),
        as_bool(r[5]),
        as_bool(r[6]),
        as_int(r[7]),
        opt_int(r[8]),
        opt_int(r[9]),
        as_int(r[10]),
    )


async def create_poll(
    db: Database,
    spec: rules.PollSpec,
    *,
    preview: str,
    created_by: int | None,
    report_chat_id: int | None,
    now: int,
) -> Poll:
    """A draft broadcast (audience, approval, scheduling and sending as for an
    announcement) and the poll it carries."""
    bid = await create_draft(
        db,
        kind="announcement",
        title=f"Khảo sát: {spec.question[:80]}",
        body=preview,
        parts=[preview],
        audience=Audience("all"),
        created_by=created_by,
        now=now,
        report_chat_id=report_chat_id,
    )
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO polls (broadcast_id, question, options, multiple, anonymous, closes_at,"
            " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bid,
                spec.question,
                json.dumps(list(spec.options), ensure_ascii=False),
                int(spec.multiple),
                int(spec.anonymous),
                spec.closes_at,
                created_by,
                now,
            ),
        ) as cur:
            pid = int(cur.lastrowid or 0)
        await record_audit(
            conn,
            at=now,
            actor_id=created_by,
            actor_role=None,
            action="poll_create",
            target=pid,
            detail={"broadcast": bid, "options": len(spec.options)},
        )
    return await get_poll(db, pid)


async def get_poll(db: Database, poll_id: int) -> Poll:
    """The poll or NotFound."""
    row = await db.fetch_one(f"SELECT {_COLUMNS} FROM polls WHERE id = ?", (poll_id,))
    if row is None:
        raise NotFound(f"Không có khảo sát #{poll_id}.")
    return _poll(row)


async def poll_of_broadcast(db: Database, broadcast_id: int) -> tuple[Poll, bool] | None:
    """(poll, is_stop) when the broadcast sends or stops a poll; None for other broadcasts."""
    row = await db.fetch_one(
        f"SELECT {_COLUMNS} FROM polls WHERE broadcast_id = ? OR stop_broadcast_id = ?",
        (broadcast_id, broadcast_id),
    )
    if row is None:
        return None
    poll = _poll(row)
    return poll, poll.stop_broadcast_id == broadcast_id


async def recent_polls(db: Database, limit: int = 10) -> list[Poll]:
    """Newest first."""
    rows = await db.fetch_all(f"SELECT {_COLUMNS} FROM polls ORDER BY id DESC LIMIT ?", (limit,))
    return [_poll(r) for r in rows]


async def record_native(
    db: Database, poll_id: int, tg_poll_id: str, chat_id: int, message_id: int, now: int
) -> None:
    """A native poll went out to a chat (recorded before the delivery's outcome)."""
    await db.execute(
        "INSERT OR IGNORE INTO poll_messages (tg_poll_id, poll_id, chat_id, message_id,"
        " updated_at) VALUES (?, ?, ?, ?, ?)",
        (tg_poll_id, poll_id, chat_id, message_id, now),
    )


async def native_messages(db: Database, poll_id: int, chat_id: int) -> list[int]:
    """Message ids of the native polls in one chat (two after a resend)."""
    rows = await db.fetch_all(
        "SELECT message_id FROM poll_messages WHERE poll_id = ? AND chat_id = ?"
        " ORDER BY message_id",
        (poll_id, chat_id),
    )
    return [int(r[0]) for r in rows]


async def mark_stopped(db: Database, poll_id: int, chat_id: int, message_id: int) -> None:
    """stopPoll succeeded (or the message is gone)."""
    await db.execute(
        "UPDATE poll_messages SET stopped = 1 WHERE poll_id = ? AND chat_id = ? AND message_id = ?",
        (poll_id, chat_id, message_id),
    )


async def record_answer(
    db: Database, tg_poll_id: str, user_id: int, option_ids: Sequence[int], now: int
) -> bool:
    """A voter's answer (the latest replaces the earlier one). An answer in a native poll
    not known (yet) is kept unattached until a `poll` update adopts it. False when it is
    not counted now: unknown poll, or after the closing time."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT p.id, p.closes_at FROM poll_messages m JOIN polls p ON p.id = m.poll_id"
            " WHERE m.tg_poll_id = ?",
            (tg_poll_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is not None and now > int(row[1]):
            return False
        await conn.execute(
            "INSERT INTO poll_votes (poll_id, tg_poll_id, user_id, option_ids, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tg_poll_id, user_id) WHERE user_id IS NOT NULL"
            " DO UPDATE SET option_ids = excluded.option_ids, at = excluded.at",
            (
                None if row is None else int(row[0]),
                tg_poll_id,
                user_id,
                json.dumps(list(option_ids)),
                now,
            ),
        )
    return row is not None


async def record_totals(
    db: Database,
    tg_poll_id: str,
    counts: Sequence[int],
    total_voters: int,
    now: int,
    *,
    question: str,
    options: Sequence[str],
) -> bool:
    """Telegram's latest totals for one native poll. An unknown native poll with the
    question and options of an open Loa poll was sent just before a crash (its id never
    recorded): it is adopted, with the answers already received. False: not Loa's."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE poll_messages SET counts = ?, total_voters = ?, updated_at = ?"
            " WHERE tg_poll_id = ?",
            (json.dumps(list(counts)), total_voters, now, tg_poll_id),
        ) as cur:
            if cur.rowcount:
                return True
        async with conn.execute(
            "SELECT id, closes_at FROM polls WHERE question = ? AND options = ? AND created_at <= ?"
            " AND (closed_at IS NULL OR closed_at >= ?) ORDER BY id DESC LIMIT 1",
            (question, json.dumps(list(options), ensure_ascii=False), now, now - 86400),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return False
        await conn.execute(
            "INSERT INTO poll_messages (tg_poll_id, poll_id, chat_id, message_id, counts,"
            " total_voters, updated_at) VALUES (?, ?, 0, 0, ?, ?, ?)",
            (tg_poll_id, int(row[0]), json.dumps(list(counts)), total_voters, now),
        )
        await conn.execute(
            "UPDATE poll_votes SET poll_id = ? WHERE tg_poll_id = ? AND poll_id IS NULL"
            " AND at <= ?",
            (int(row[0]), tg_poll_id, int(row[1])),
        )
    return True


async def results(db: Database, poll: Poll) -> rules.Results:
    """The poll's results combined across every chat, right now."""
    async with db.snapshot() as conn:
        async with conn.execute(
            "SELECT tg_poll_id, option_ids FROM poll_votes WHERE poll_id = ?", (poll.id,)
        ) as cur:
            votes = [
                rules.Vote(str(r[0]), tuple(json.loads(str(r[1])))) for r in await cur.fetchall()
            ]
        async with conn.execute(
            "SELECT tg_poll_id, counts, total_voters, chat_id FROM poll_messages WHERE poll_id = ?",
            (poll.id,),
        ) as cur:
            rows = await cur.fetchall()
    totals = [
        rules.NativeTotals(str(r[0]), tuple(json.loads(str(r[1]))) if r[1] else (), int(r[2]))
        for r in rows
    ]
    chats = len({int(r[3]) for r in rows if r[3]})  # adopted polls (chat 0) add no chat
    return rules.combine(
        poll.options, anonymous=poll.anonymous, votes=votes, totals=totals, chats=chats
    )


async def voter_rows(
    db: Database, poll_id: int
) -> list[tuple[str, int | None, tuple[int, ...], datetime]]:
    """(chat title, voter id or None, option ids, time) of every answer, for the export."""
    rows = await db.fetch_all(
        "SELECT CASE WHEN m.chat_id = 0 THEN '(không rõ)' ELSE COALESCE(c.title,"
        " CAST(m.chat_id AS TEXT)) END, v.user_id, v.option_ids, v.at"
        " FROM poll_votes v JOIN poll_messages m ON m.tg_poll_id = v.tg_poll_id"
        " LEFT JOIN chats c ON c.id = m.chat_id WHERE v.poll_id = ? AND v.option_ids <> '[]'"
        " ORDER BY v.at, v.id",
        (poll_id,),
    )
    return [
        (
            str(r[0]),
            opt_int(r[1]),
            tuple(json.loads(str(r[2]))),
            datetime.fromtimestamp(int(r[3]), UTC),
        )
        for r in rows
    ]


async def due_to_close(db: Database, now: int) -> list[Poll]:
    """Open polls whose closing time has come (their send broadcast already queued or over)."""
    rows = await db.fetch_all(
        f"SELECT {', '.join('p.' + c.strip() for c in _COLUMNS.split(','))} FROM polls p"
        " JOIN broadcasts b ON b.id = p.broadcast_id WHERE p.closed_at IS NULL"
        " AND p.closes_at <= ? ORDER BY p.closes_at",
        (now,),
    )
    return [_poll(r) for r in rows]


async def close_poll(db: Database, poll: Poll, *, now: int, actor_id: int | None = None) -> int:
    """Close a poll in ONE transaction: stop its sending (deliveries not yet out are
    cancelled; a draft is cancelled), then queue a stop broadcast with one delivery per
    chat that got the native poll. Returns that number (0: nothing to stop)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (now, poll.id)
        ) as cur:
            if not cur.rowcount:
                return 0
        await conn.execute(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_at = ?,"
            " cancel_reason = 'khảo sát đã hết hạn'"
            " WHERE id = ? AND state IN ('draft', 'awaiting_approval', 'queued', 'sending')",
            (now, poll.broadcast_id),
        )
        await conn.execute(
            "UPDATE deliveries SET state = 'cancelled', updated_at = ?"
            " WHERE broadcast_id = ? AND state = 'pending'",
            (now, poll.broadcast_id),
        )
        async with conn.execute(
            "SELECT audience, cadre_only, cadre_ok, report_chat_id FROM broadcasts WHERE id = ?",
            (poll.broadcast_id,),
        ) as cur:
            b = await cur.fetchone()
        async with conn.execute(
            "SELECT DISTINCT chat_id FROM poll_messages WHERE poll_id = ? AND stopped = 0"
            " AND chat_id <> 0",
            (poll.id,),
        ) as cur:
            chats = [int(r[0]) for r in await cur.fetchall()]
        stop_id = None
        if chats and b is not None:
            text = f"⏹ Đóng khảo sát #{poll.id}"
            async with conn.execute(
                "INSERT INTO broadcasts (kind, state, title, body, parts, audience, cadre_only,"
                " cadre_ok, created_by, created_at, approved_at, total)"
                " VALUES ('announcement', 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"Đóng khảo sát: {poll.question[:80]}",
                    text,
                    json.dumps([text], ensure_ascii=False),
                    str(b[0]),
                    int(b[1]),
                    int(b[2]),
                    actor_id,
                    now,
                    now,
                    len(chats),
                ),
            ) as cur:
                stop_id = int(cur.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO deliveries (broadcast_id, chat_id, next_attempt_at, updated_at)"
                " VALUES (?, ?, 0, ?)",
                [(stop_id, chat_id, now) for chat_id in chats],
            )
            await conn.execute(
                "UPDATE polls SET stop_broadcast_id = ? WHERE id = ?", (stop_id, poll.id)
            )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=None,
            action="poll_close",
            target=poll.id,
            detail={"stop_broadcast": stop_id, "chats": len(chats)},
        )
    return len(chats)


async def forget_voter(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """/forgetme: the voter's id leaves every answer; the answers stay counted."""
    async with conn.execute(
        "UPDATE poll_votes SET user_id = NULL WHERE user_id = ?", (user_id,)
    ) as cur:
        n = cur.rowcount
    return (
        [f"Đã xóa danh tính của bạn khỏi {n} phiếu khảo sát (số phiếu vẫn được giữ)."] if n else []
    )


async def polls_closed_in(db: Database, start: int, end: int) -> list[Poll]:
    """Polls that closed in [start, end) (the briefing reports them)."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM polls WHERE closed_at >= ? AND closed_at < ? ORDER BY closed_at",
        (start, end),
    )
    return [_poll(r) for r in rows]
