"""Directives and acknowledgements: automatic (publish_at) directives, [✅ Đã nhận]
acks, reminders to chats that have not acknowledged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience
from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.drafts import _B_COLUMNS, Broadcast, _broadcast, queue_broadcast
from bot.store.staff import record_audit


async def ack_count(db: Database, broadcast_id: int, chat_id: int) -> int:
    """Acknowledgements recorded in one chat."""
    value = await db.fetch_value(
        "SELECT COUNT(*) FROM acks WHERE broadcast_id = ? AND chat_id = ?", (broadcast_id, chat_id)
    )
    return int(value or 0)


async def auto_directive_exists(db: Database, quarter: str) -> bool:
    """True when the directive file of this quarter was already scheduled automatically."""
    value = await db.fetch_value(
        "SELECT 1 FROM broadcasts WHERE auto = 1 AND directive_key = ?", (quarter,)
    )
    return value is not None


async def schedule_auto_directive(
    db: Database,
    *,
    quarter: str,
    title: str,
    body: str,
    parts: Sequence[str],
    audience: Audience,
    scheduled_at: int,
    now: int,
    report_chat_id: int | None,
    source_path: str | None = None,
    source_hash: str | None = None,
) -> int | None:
    """Create a directive to be sent at its file's publish_at, at most once per quarter.

    The partial unique index on (directive_key) WHERE auto = 1 makes this idempotent
    across restarts and races; returns the new id or None when it already existed.
    Audience is resolved at publish time: deliveries are created then (see
    `queue_auto_directive`), so chats approved meanwhile are included; the file is
    re-read then too (source_path, source_hash).
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT OR IGNORE INTO broadcasts (kind, state, title, body, parts, audience,"
            " cadre_only, cadre_ok, with_ack, directive_key, auto, created_at, scheduled_at,"
            " report_chat_id, source_path, source_hash) VALUES ('directive',"
            " 'awaiting_approval', ?, ?, ?, ?, 1, 1, 1, ?, 1, ?, ?, ?, ?, ?)",
            (
                title,
                body,
                json.dumps(list(parts), ensure_ascii=False),
                audience.key(),
                quarter,
                now,
                scheduled_at,
                report_chat_id,
                source_path,
                source_hash,
            ),
        ) as cur:
            if not cur.rowcount:
                return None
            new_id = int(cur.lastrowid or 0)
        # 'awaiting_approval' with auto = 1 here means "approved by the file, waiting for
        # publish_at" (labelled so in /broadcasts, no [Duyệt]).
        await record_audit(
            conn,
            at=now,
            actor_id=None,
            actor_role="system",
            action="directive_scheduled",
            target=new_id,
            detail={"quarter": quarter, "at": scheduled_at},
        )
    return new_id


async def waiting_auto_directives(db: Database, due_by: int | None = None) -> list[Broadcast]:
    """Automatic directives still waiting for their publish time (only those due by
    `due_by` when given)."""
    sql = f"SELECT {_B_COLUMNS} FROM broadcasts WHERE auto = 1 AND state = 'awaiting_approval'"
    params: tuple[object, ...] = ()
    if due_by is not None:
        sql += " AND scheduled_at <= ?"
        params = (due_by,)
    rows = await db.fetch_all(sql + " ORDER BY scheduled_at, id", params)
    return [_broadcast(r) for r in rows]


async def update_auto_directive(
    db: Database,
    broadcast_id: int,
    *,
    title: str,
    body: str,
    parts: Sequence[str],
    audience: Audience,
    scheduled_at: int,
    source_path: str,
    source_hash: str,
    now: int,
) -> bool:
    """The directive file changed before publishing: take its new text, units and time."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE broadcasts SET title = ?, body = ?, parts = ?, audience = ?,"
            " scheduled_at = ?, source_path = ?, source_hash = ?"
            " WHERE id = ? AND auto = 1 AND state = 'awaiting_approval'",
            (
                title,
                body,
                json.dumps(list(parts), ensure_ascii=False),
                audience.key(),
                scheduled_at,
                source_path,
                source_hash,
                broadcast_id,
            ),
        ) as cur:
            changed = cur.rowcount > 0
        if changed:
            await record_audit(
                conn,
                at=now,
                actor_id=None,
                actor_role="system",
                action="directive_file_changed",
                target=broadcast_id,
                detail={"audience": audience.key(), "at": scheduled_at},
            )
    return changed


async def cancel_auto_directive(db: Database, broadcast_id: int, reason: str, now: int) -> bool:
    """Stop an automatic directive before it was sent (its file is gone or broken)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_at = ?, cancel_reason = ?"
            " WHERE id = ? AND auto = 1 AND state = 'awaiting_approval'",
            (now, reason, broadcast_id),
        ) as cur:
            changed = cur.rowcount > 0
        if changed:
            await record_audit(
                conn,
                at=now,
                actor_id=None,
                actor_role="system",
                action="directive_auto_cancelled",
                target=broadcast_id,
                detail={"reason": reason},
            )
    return changed


async def queue_auto_directive(db: Database, broadcast_id: int, now: int) -> int | None:
    """Publish time: create the deliveries of an automatic directive (the file is the
    approval). The total, or None when it is no longer waiting."""
    try:
        return await queue_broadcast(
            db,
            broadcast_id,
            scheduled_at=None,
            actor_id=None,
            actor_role="system",
            now=now,
            from_states=(rules.B_AWAITING,),
            admin_approved=True,
        )
    except InvalidInput:
        return None


async def materialize_due_auto(db: Database, now: int) -> list[int]:
    """Queue automatic directives whose publish time has come, as stored (no file check;
    the bot re-reads the file first: see Dispatcher.refresh_auto)."""
    queued = []
    for b in await waiting_auto_directives(db, now):
        if await queue_auto_directive(db, b.id, now) is not None:
            queued.append(b.id)
    return queued


# --- acknowledgements ------------------------------------------------------------------


async def record_ack(
    db: Database, broadcast_id: int, chat_id: int, user_id: int, now: int
) -> tuple[bool, int]:
    """Record a [Đã nhận] press; (first time for this user here, acks in this chat)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT with_ack FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None or not row[0]:
            raise NotFound("Bản tin này không cần xác nhận.")
        async with conn.execute(
            "INSERT OR IGNORE INTO acks (broadcast_id, chat_id, user_id, at) VALUES (?, ?, ?, ?)",
            (broadcast_id, chat_id, user_id, now),
        ) as cur:
            new = cur.rowcount > 0
        async with conn.execute(
            "SELECT COUNT(*) FROM acks WHERE broadcast_id = ? AND chat_id = ?",
            (broadcast_id, chat_id),
        ) as cur:
            count_row = await cur.fetchone()
    return new, int(count_row[0]) if count_row else 0


async def ack_allowed(
    db: Database, broadcast_id: int, chat_id: int, message_id: int | None
) -> bool:
    """May a press of [Đã nhận] for `broadcast_id` on `message_id` in this chat count?

    Only on a message of that broadcast (or one of its reminders) actually delivered to
    this chat: a preview or a forged callback naming another broadcast is refused. A
    delivery still in flight (its message ids not recorded yet) is accepted.
    """
    rows = await db.fetch_all(
        "SELECT d.state, d.message_ids FROM deliveries d JOIN broadcasts b"
        " ON b.id = d.broadcast_id WHERE d.chat_id = ? AND b.with_ack = 1"
        " AND (b.id = ? OR (b.kind = 'reminder' AND b.parent_id = ?))",
        (chat_id, broadcast_id, broadcast_id),
    )
    for state, ids in rows:
        if message_id is not None and ids and message_id in json.loads(ids):
            return True
        if state == "sending":
            return True
    if rows and message_id is not None:
        copy = await db.fetch_value(
            "SELECT 1 FROM directive_copies WHERE broadcast_id = ? AND chat_id = ?"
            " AND message_id = ?",
            (broadcast_id, chat_id, message_id),
        )
        return copy is not None
    return False


async def latest_directive_sent_to(db: Database, chat_id: int) -> int | None:
    """The id of the newest directive actually delivered to this chat (not recalled)."""
    value = await db.fetch_value(
        "SELECT b.id FROM broadcasts b JOIN deliveries d ON d.broadcast_id = b.id"
        " WHERE d.chat_id = ? AND d.state = 'sent' AND b.kind = 'directive'"
        " AND b.revoked_at IS NULL ORDER BY b.id DESC LIMIT 1",
        (chat_id,),
    )
    return int(value) if value is not None else None


async def record_copy(db: Database, broadcast_id: int, chat_id: int, message_id: int) -> None:
    """Remember a /chidao copy so that its [✅ Đã nhận] counts."""
    await db.execute(
        "INSERT OR IGNORE INTO directive_copies (broadcast_id, chat_id, message_id)"
        " VALUES (?, ?, ?)",
        (broadcast_id, chat_id, message_id),
    )


@dataclass(frozen=True)
class ChatLine:
    """A chat in a listing."""

    chat_id: int
    title: str | None
    unit: str | None


async def unacked_chats(db: Database, broadcast_id: int) -> list[ChatLine]:
    """Chats that received the broadcast and nobody there acknowledged it."""
    rows = await db.fetch_all(
        "SELECT d.chat_id, c.title, s.unit FROM deliveries d JOIN chats c ON c.id = d.chat_id"
        " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id"
        " WHERE d.broadcast_id = ? AND d.state = 'sent' AND NOT EXISTS ("
        "   SELECT 1 FROM acks a WHERE a.broadcast_id = d.broadcast_id AND a.chat_id = d.chat_id)"
        " ORDER BY s.unit, c.title",
        (broadcast_id,),
    )
    return [ChatLine(int(r[0]), r[1], r[2]) for r in rows]


async def queue_reminder(
    db: Database,
    parent: Broadcast,
    *,
    body: str,
    parts: Sequence[str],
    actor_id: int | None,
    actor_role: str | None,
    now: int,
    report_chat_id: int | None,
) -> int:
    """A reminder to the chats that have not acknowledged `parent`, in one transaction."""
    async with db.transaction() as conn:
        async with conn.execute(
            "INSERT INTO broadcasts (kind, state, title, body, parts, audience, cadre_only,"
            " cadre_ok, with_ack, parent_id, created_by, created_at, approved_by, approved_at,"
            " report_chat_id)"
            " VALUES ('reminder', 'queued', ?, ?, ?, ?, 1, 1, 1, ?, ?, ?, ?, ?, ?)",
            (
                parent.title,
                body,
                json.dumps(list(parts), ensure_ascii=False),
                parent.audience,
                parent.id,
                actor_id,
                now,
                actor_id,
                now,
                report_chat_id,
            ),
        ) as cur:
            rid = int(cur.lastrowid or 0)
        async with conn.execute(
            "INSERT INTO deliveries (broadcast_id, chat_id, next_attempt_at, updated_at)"
            " SELECT ?, d.chat_id, 0, ? FROM deliveries d WHERE d.broadcast_id = ?"
            " AND d.state = 'sent' AND NOT EXISTS (SELECT 1 FROM acks a"
            "  WHERE a.broadcast_id = d.broadcast_id AND a.chat_id = d.chat_id)",
            (rid, now, parent.id),
        ) as cur:
            total = cur.rowcount
        await conn.execute(
            "UPDATE broadcasts SET total = ?, state = CASE WHEN ? = 0 THEN 'done' ELSE state END"
            " WHERE id = ?",
            (total, total, rid),
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="ack_reminder",
            target=parent.id,
            detail={"reminder": rid, "total": total},
        )
    return rid
