"""Durable edits and deletions of sent broadcast messages ([Sửa]/[Thu hồi]): the
message_ops outbox and the reports of finished actions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.staff import record_audit
from bot.store.subscriptions import _ineligible

if TYPE_CHECKING:
    from bot.store.outbox import Outcome


async def sent_messages(db: Database, broadcast_id: int) -> list[tuple[int, list[int]]]:
    """(chat id, message ids) of every delivery that was sent."""
    rows = await db.fetch_all(
        "SELECT chat_id, message_ids FROM deliveries WHERE broadcast_id = ? AND state = 'sent'"
        " AND message_ids IS NOT NULL ORDER BY id",
        (broadcast_id,),
    )
    return [(int(r[0]), list(json.loads(r[1]))) for r in rows]


async def _open_action(
    conn: aiosqlite.Connection,
    broadcast_id: int,
    op: str,
    actor_id: int | None,
    report_chat_id: int | None,
    now: int,
) -> int:
    # A newer request supersedes what an older one has not done yet (a delete also
    # supersedes pending edits: there is nothing left to edit).
    superseded = ("edit",) if op == "edit" else ("edit", "delete")
    marks = ",".join("?" * len(superseded))
    await conn.execute(
        "UPDATE message_ops SET state = 'cancelled', last_error = 'superseded', updated_at = ?"
        f" WHERE broadcast_id = ? AND state = 'pending' AND op IN ({marks})",
        (now, broadcast_id, *superseded),
    )
    async with conn.execute(
        "INSERT INTO broadcast_actions (broadcast_id, op, requested_by, requested_at,"
        " report_chat_id) VALUES (?, ?, ?, ?, ?)",
        (broadcast_id, op, actor_id, now, report_chat_id),
    ) as cur:
        return int(cur.lastrowid or 0)


async def _add_ops(
    conn: aiosqlite.Connection,
    action_id: int,
    broadcast_id: int,
    op: str,
    n_parts: int,
    targets: Iterable[tuple[int, Sequence[int]]],
    now: float,
) -> int:
    rows = [
        (action_id, broadcast_id, chat_id, int(mid), i, int(i == n_parts - 1), op, now)
        for chat_id, mids in targets
        for i, mid in enumerate(mids)
    ]
    if not rows:
        return 0
    before = conn.total_changes
    await conn.executemany(
        "INSERT OR IGNORE INTO message_ops (action_id, broadcast_id, chat_id, message_id,"
        " part_index, is_last, op, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return conn.total_changes - before


async def _targets(conn: aiosqlite.Connection, broadcast_id: int) -> list[tuple[int, list[int]]]:
    """Every chat where some part of the broadcast is (or may be) on screen."""
    async with conn.execute(
        "SELECT chat_id, message_ids FROM deliveries WHERE broadcast_id = ?"
        " AND message_ids IS NOT NULL AND message_ids != '[]' ORDER BY id",
        (broadcast_id,),
    ) as cur:
        rows = await cur.fetchall()
    return [(int(r[0]), list(json.loads(r[1]))) for r in rows]


async def request_edit(
    db: Database,
    broadcast_id: int,
    body: str,
    parts: Sequence[str],
    *,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
    now: int,
) -> tuple[int, int]:
    """[Sửa]: store the new text and queue one edit per sent message, in one transaction.

    Parts not sent yet go out with the new text; deliveries in flight at this moment
    are edited when their outcome is recorded (text_rev). Returns (action id, edits).
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT revoked_at FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Không có bản tin #{broadcast_id}.")
        if row[0] is not None:
            raise InvalidInput("Bản tin này đã bị thu hồi, không sửa được nữa.")
        await conn.execute(
            "UPDATE broadcasts SET body = ?, parts = ?, text_rev = text_rev + 1 WHERE id = ?",
            (body, json.dumps(list(parts), ensure_ascii=False), broadcast_id),
        )
        action_id = await _open_action(conn, broadcast_id, "edit", actor_id, report_chat_id, now)
        n = await _add_ops(
            conn,
            action_id,
            broadcast_id,
            "edit",
            len(parts),
            await _targets(conn, broadcast_id),
            now,
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="broadcast_edit",
            target=broadcast_id,
            detail={"action": action_id, "messages": n},
        )
    return action_id, n


async def request_delete(
    db: Database,
    broadcast_id: int,
    *,
    actor_id: int | None,
    actor_role: str | None,
    report_chat_id: int | None,
    now: int,
) -> tuple[int, int, int]:
    """[Thu hồi]: stop what is not sent and queue one deletion per sent message, atomically.

    Deliveries in flight now are deleted when their outcome is recorded (revoked_at).
    Returns (action id, deletions queued, deliveries cancelled).
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT parts FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Không có bản tin #{broadcast_id}.")
        n_parts = len(json.loads(row[0]))
        await conn.execute(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_by = ?, cancelled_at = ?"
            " WHERE id = ? AND state IN ('draft', 'awaiting_approval', 'queued', 'sending')",
            (actor_id, now, broadcast_id),
        )
        await conn.execute(
            "UPDATE broadcasts SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
            (now, broadcast_id),
        )
        async with conn.execute(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'revoked', updated_at = ?"
            " WHERE broadcast_id = ? AND state = 'pending'",
            (now, broadcast_id),
        ) as cur:
            cancelled = cur.rowcount
        action_id = await _open_action(conn, broadcast_id, "delete", actor_id, report_chat_id, now)
        n = await _add_ops(
            conn,
            action_id,
            broadcast_id,
            "delete",
            n_parts,
            await _targets(conn, broadcast_id),
            now,
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="broadcast_delete",
            target=broadcast_id,
            detail={"action": action_id, "messages": n, "cancelled": cancelled},
        )
    return action_id, n, cancelled


# (text_rev, revoked_at, number of parts) of a broadcast, read in the same transaction.
BroadcastRevision = tuple[int, int | None, int]


async def _follow_up_ops(
    conn: aiosqlite.Connection,
    outcomes: Sequence[Outcome],
    now: float,
    known: dict[int, BroadcastRevision] | None = None,
) -> None:
    """Messages sent by a request that was in flight during [Sửa]/[Thu hồi] get the same.

    `known`: revisions already read in this transaction (the dispatcher's marks read
    them), so a batch of outcomes usually costs no query here (issue 17)."""
    with_ids = [o for o in outcomes if o.message_ids]
    if not with_ids:
        return
    known = known or {}
    info = {bid: rev for bid, rev in known.items() if rev[1] is not None or rev[0] > 0}
    bids = sorted({o.broadcast_id for o in with_ids} - set(known))
    if bids:
        rows = await conn.execute_fetchall(
            f"SELECT id, text_rev, revoked_at, parts FROM broadcasts WHERE id IN"
            f" ({','.join('?' * len(bids))}) AND (revoked_at IS NOT NULL OR text_rev > 0)",
            bids,
        )
        info.update({int(r[0]): (int(r[1]), r[2], len(json.loads(r[3]))) for r in rows})
    for o in with_ids:
        if o.broadcast_id not in info:
            continue
        text_rev, revoked_at, n_parts = info[o.broadcast_id]
        if revoked_at is not None:
            op = "delete"
        elif o.text_rev >= 0 and o.text_rev < text_rev:
            op = "edit"
        else:
            continue
        async with conn.execute(
            "SELECT id FROM broadcast_actions WHERE broadcast_id = ? AND op = ?"
            " ORDER BY id DESC LIMIT 1",
            (o.broadcast_id, op),
        ) as cur:
            action = await cur.fetchone()
        if action is None:
            continue
        if await _add_ops(
            conn, int(action[0]), o.broadcast_id, op, n_parts, [(o.chat_id, o.message_ids)], now
        ):
            await conn.execute(
                "UPDATE broadcast_actions SET reported = 0, finished_at = NULL WHERE id = ?",
                (int(action[0]),),
            )


@dataclass(frozen=True)
class MessageOp:
    """One edit or deletion of a sent message."""

    id: int
    action_id: int
    broadcast_id: int
    chat_id: int
    message_id: int
    part_index: int
    is_last: bool
    op: str
    attempts: int


async def fetch_due_ops(db: Database, now: float, limit: int) -> list[MessageOp]:
    """Pending edits/deletions whose time has come (never two for one message at once)."""
    rows = await db.fetch_all(
        "SELECT o.id, o.action_id, o.broadcast_id, o.chat_id, o.message_id, o.part_index,"
        " o.is_last, o.op, o.attempts FROM message_ops o"
        " WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND NOT EXISTS ("
        "  SELECT 1 FROM message_ops x WHERE x.state = 'sending' AND x.chat_id = o.chat_id"
        "  AND x.message_id = o.message_id)"
        " ORDER BY o.next_attempt_at, o.id LIMIT ?",
        (now, limit),
    )
    return [
        MessageOp(
            int(r[0]),
            int(r[1]),
            int(r[2]),
            int(r[3]),
            int(r[4]),
            int(r[5]),
            bool(r[6]),
            str(r[7]),
            int(r[8]),
        )
        for r in rows
    ]


async def mark_op_sending(db: Database, op_id: int, now: float) -> int | None:
    """Mark one op "sending" right before its request; its (current) chat id, or None.

    An edit is re-checked at this moment like a delivery: a chat that unsubscribed, or
    (for a cadre-only broadcast) was revoked or left the unit since, does not get the new
    text: the op is marked skipped with the reason. A deletion always goes (removing an
    internal text is always allowed).
    """
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT o.chat_id, o.op, o.state, b.cadre_only, b.audience, s.active, s.approval,"
            " s.unit FROM message_ops o JOIN broadcasts b ON b.id = o.broadcast_id"
            " LEFT JOIN subscriptions s ON s.chat_id = o.chat_id WHERE o.id = ?",
            (op_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[2] != "pending":
            return None
        if row[1] == "edit":
            reason = _ineligible(
                cadre_only=bool(row[3]),
                cadre_ok=True,
                audience_key=str(row[4]),
                sub_active=row[5],
                approval=row[6],
                unit=row[7],
            )
            if reason:
                await conn.execute(
                    "UPDATE message_ops SET state = 'skipped', last_error = ?, updated_at = ?"
                    " WHERE id = ? AND state = 'pending'",
                    (f"not eligible: {reason}", now, op_id),
                )
                return None
        async with conn.execute(
            "UPDATE message_ops SET state = 'sending', updated_at = ? WHERE id = ?"
            " AND state = 'pending'",
            (now, op_id),
        ) as cur:
            if not cur.rowcount:
                return None
    return int(row[0])


async def record_op(
    db: Database,
    op_id: int,
    state: str,
    *,
    error: str | None = None,
    next_attempt_at: float = 0.0,
    used_attempt: bool = False,
    now: float,
) -> None:
    """The outcome of one edit/deletion: done | failed | pending (retry later)."""
    await db.execute(
        "UPDATE message_ops SET state = ?, last_error = ?, next_attempt_at = ?,"
        " attempts = attempts + ?, updated_at = ? WHERE id = ? AND state = 'sending'",
        (state, error, next_attempt_at, int(used_attempt), now, op_id),
    )


@dataclass(frozen=True)
class ActionReport:
    """A finished [Sửa]/[Thu hồi] request and what became of its operations."""

    id: int
    broadcast_id: int
    op: str
    report_chat_id: int | None
    counts: dict[str, int]
    reasons: list[tuple[str, int]]


async def finished_actions(db: Database) -> list[ActionReport]:
    """Requests with nothing pending left and no report sent yet."""
    rows = await db.fetch_all(
        "SELECT a.id, a.broadcast_id, a.op, a.report_chat_id FROM broadcast_actions a"
        " WHERE a.reported = 0 AND NOT EXISTS (SELECT 1 FROM message_ops o"
        "  WHERE o.action_id = a.id AND o.state IN ('pending', 'sending')) ORDER BY a.id"
    )
    out = []
    for r in rows:
        counts_rows = await db.fetch_all(
            "SELECT state, COUNT(*) FROM message_ops WHERE action_id = ? GROUP BY state", (r[0],)
        )
        reason_rows = await db.fetch_all(
            "SELECT last_error, COUNT(*) FROM message_ops WHERE action_id = ?"
            " AND state IN ('failed', 'skipped') GROUP BY last_error ORDER BY COUNT(*) DESC"
            " LIMIT 5",
            (r[0],),
        )
        out.append(
            ActionReport(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                r[3],
                {str(c[0]): int(c[1]) for c in counts_rows},
                [(str(x[0] or "?"), int(x[1])) for x in reason_rows],
            )
        )
    return out


async def mark_action_reported(db: Database, action_id: int, now: float) -> None:
    """The action's report went out."""
    await db.execute(
        "UPDATE broadcast_actions SET reported = 1, finished_at = ? WHERE id = ?",
        (now, action_id),
    )
