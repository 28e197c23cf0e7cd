"""Broadcasts as stored: drafts, approval states, queueing (audience → deliveries in one
transaction), cancelling, per-broadcast statistics (migration 003)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, parse_audience
from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.rows import as_bool, as_int, as_str, opt_float, opt_int, opt_str
from bot.store.staff import record_audit
from bot.store.subscriptions import _cadre_among, _recipients
from bot.store.units import canonical_audience

# --- broadcasts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    """A broadcast as stored."""

    id: int
    kind: str
    state: str
    title: str | None
    body: str
    parts: tuple[str, ...]
    audience: str
    cadre_only: bool
    with_ack: bool
    directive_key: str | None
    parent_id: int | None
    created_by: int | None
    created_at: int
    approved_by: int | None
    scheduled_at: int | None
    started_at: float | None
    finished_at: float | None
    total: int
    report_chat_id: int | None
    report_message_id: int | None
    reported: bool
    auto: bool = False
    text_rev: int = 0
    revoked_at: int | None = None
    cadre_ok: bool = False
    cancel_reason: str | None = None
    source_path: str | None = None
    source_hash: str | None = None

    @property
    def state_label(self) -> str:
        """The state as admins see it (an automatic directive has a label of its own)."""
        return rules.broadcast_label_vi(self.state, self.auto)


_B_COLUMNS = (
    "id, kind, state, title, body, parts, audience, cadre_only, with_ack, directive_key,"
    " parent_id, created_by, created_at, approved_by, scheduled_at, started_at, finished_at,"
    " total, report_chat_id, report_message_id, reported, auto, text_rev, revoked_at,"
    " cadre_ok, cancel_reason, source_path, source_hash"
)


def _broadcast(r: aiosqlite.Row) -> Broadcast:
    return Broadcast(
        as_int(r[0]),
        as_str(r[1]),
        as_str(r[2]),
        opt_str(r[3]),
        as_str(r[4]),
        tuple(json.loads(str(r[5]))),
        as_str(r[6]),
        as_bool(r[7]),
        as_bool(r[8]),
        opt_str(r[9]),
        opt_int(r[10]),
        opt_int(r[11]),
        as_int(r[12]),
        opt_int(r[13]),
        opt_int(r[14]),
        opt_float(r[15]),
        opt_float(r[16]),
        as_int(r[17]),
        opt_int(r[18]),
        opt_int(r[19]),
        as_bool(r[20]),
        as_bool(r[21]),
        as_int(r[22]),
        opt_int(r[23]),
        as_bool(r[24]),
        opt_str(r[25]),
        opt_str(r[26]),
        opt_str(r[27]),
    )


async def get_broadcast(db: Database, broadcast_id: int) -> Broadcast:
    """The broadcast or NotFound."""
    row = await db.fetch_one(f"SELECT {_B_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
    if row is None:
        raise NotFound(f"Không có bản tin #{broadcast_id}.")
    return _broadcast(row)


async def create_draft(
    db: Database,
    *,
    kind: str,
    body: str,
    parts: Sequence[str],
    audience: Audience,
    created_by: int | None,
    now: int,
    title: str | None = None,
    with_ack: bool = False,
    directive_key: str | None = None,
    parent_id: int | None = None,
    report_chat_id: int | None = None,
) -> int:
    """Store a draft (no deliveries yet); return its id."""
    cadre_only = audience.cadre_only or kind in ("directive", "reminder")
    async with (
        db.transaction() as conn,
        conn.execute(
            "INSERT INTO broadcasts (kind, title, body, parts, audience, cadre_only, with_ack,"
            " directive_key, parent_id, created_by, created_at, report_chat_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                title,
                body,
                json.dumps(list(parts), ensure_ascii=False),
                audience.key(),
                int(cadre_only),
                int(with_ack),
                directive_key,
                parent_id,
                created_by,
                now,
                report_chat_id,
            ),
        ) as cur,
    ):
        return int(cur.lastrowid or 0)


async def set_draft_audience(
    db: Database, broadcast_id: int, audience: Audience, kind: str
) -> None:
    """Change a draft's audience (directives stay cadre-only whatever is chosen)."""
    if kind in ("directive", "reminder") and not audience.cadre_only:
        raise InvalidInput("Chỉ đạo chỉ gửi đến các nhóm cán bộ đã duyệt.")
    changed = await db.execute(
        "UPDATE broadcasts SET audience = ?, cadre_only = ? WHERE id = ? AND state = 'draft'",
        (audience.key(), int(audience.cadre_only or kind != "announcement"), broadcast_id),
    )
    if not changed:
        raise InvalidInput("Bản tin này không còn là bản nháp.")


async def set_draft_schedule(db: Database, broadcast_id: int, when: int | None) -> None:
    """The time a draft is to be sent at ([Hẹn giờ]); InvalidInput if no longer a draft."""
    changed = await db.execute(
        "UPDATE broadcasts SET scheduled_at = ? WHERE id = ? AND state = 'draft'",
        (when, broadcast_id),
    )
    if not changed:
        raise InvalidInput("Bản tin này đã được xử lý rồi.")


async def set_broadcast_state(
    db: Database,
    broadcast_id: int,
    state: str,
    from_states: Sequence[str],
    *,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
    action: str,
) -> bool:
    """Move a broadcast between non-sending states (draft→awaiting_approval/rejected/cancelled)."""
    marks = ",".join("?" * len(from_states))
    async with db.transaction() as conn:
        async with conn.execute(
            f"UPDATE broadcasts SET state = ? WHERE id = ? AND state IN ({marks})",
            (state, broadcast_id, *from_states),
        ) as cur:
            ok = cur.rowcount > 0
        if ok:
            await record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=actor_role,
                action=action,
                target=broadcast_id,
            )
    return ok


async def queue_broadcast(
    db: Database,
    broadcast_id: int,
    *,
    scheduled_at: int | None,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
    from_states: Sequence[str] = (rules.B_DRAFT, rules.B_AWAITING),
    admin_approved: bool = False,
) -> int:
    """Resolve the audience and create every delivery in ONE transaction; return the total.

    Refuses (InvalidInput) when the broadcast is no longer a draft or awaiting approval,
    so a double press cannot create it twice. Without `admin_approved` (an owner/admin
    sends or approved it, or a directive file scheduled it) a broadcast whose recipients
    include an approved cadre chat is refused with NeedsAdminApproval (issue 6), checked
    in the same transaction that resolves the recipients; `cadre_ok` is stored so the
    dispatcher checks it again at the moment of sending.
    """
    marks = ",".join("?" * len(from_states))
    async with db.transaction() as conn:
        async with conn.execute(
            f"SELECT audience, kind FROM broadcasts WHERE id = ? AND state IN ({marks})",
            (broadcast_id, *from_states),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise InvalidInput("Bản tin này đã được gửi, đã hủy hoặc không còn chờ xác nhận.")
        # Old unit codes (renamed or merged units, issue 16) resolve to the current ones.
        key = await canonical_audience(conn, str(row[0]))
        if key != str(row[0]):
            await conn.execute(
                "UPDATE broadcasts SET audience = ? WHERE id = ?", (key, broadcast_id)
            )
        audience = parse_audience(key)
        chats = await _recipients(conn, audience)
        if not admin_approved and await _cadre_among(conn, chats):
            raise rules.NeedsAdminApproval()
        due = float(scheduled_at or 0)
        await conn.executemany(
            "INSERT OR IGNORE INTO deliveries (broadcast_id, chat_id, next_attempt_at, updated_at)"
            " VALUES (?, ?, ?, ?)",
            [(broadcast_id, chat_id, due, now) for chat_id in chats],
        )
        state = rules.B_QUEUED if chats else rules.B_DONE
        await conn.execute(
            "UPDATE broadcasts SET state = ?, total = ?, scheduled_at = ?, approved_by = ?,"
            " approved_at = ?, cadre_ok = ?, finished_at = CASE WHEN ? = 'done' THEN ? END"
            " WHERE id = ?",
            (
                state,
                len(chats),
                scheduled_at,
                actor_id,
                now,
                int(admin_approved),
                state,
                now,
                broadcast_id,
            ),
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="broadcast_queue",
            target=broadcast_id,
            detail={
                "total": len(chats),
                "audience": audience.key(),
                "at": scheduled_at,
                "admin_approved": admin_approved,
            },
        )
    return len(chats)


async def starting_approved(db: Database, now: float) -> list[Broadcast]:
    """Admin-approved broadcasts about to start: still queued (nothing sent yet) with a
    delivery due now — their authority is re-checked before the first one goes out."""
    rows = await db.fetch_all(
        f"SELECT {_B_COLUMNS} FROM broadcasts b WHERE b.state = 'queued' AND b.cadre_ok = 1"
        " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = b.id"
        " AND d.state = 'pending' AND d.next_attempt_at <= ?)",
        (now,),
    )
    return [_broadcast(r) for r in rows]


async def set_report_message(
    db: Database, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    """Where the progress message lives."""
    await db.execute(
        "UPDATE broadcasts SET report_chat_id = ?, report_message_id = ? WHERE id = ?",
        (chat_id, message_id, broadcast_id),
    )


async def cancel_broadcast(
    db: Database, broadcast_id: int, *, actor_id: int | None, actor_role: str | None, now: int
) -> int:
    """Stop a broadcast: every not-yet-sent delivery becomes cancelled (kept across restarts)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_by = ?, cancelled_at = ?"
            " WHERE id = ? AND state IN ('draft', 'awaiting_approval', 'queued', 'sending')",
            (actor_id, now, broadcast_id),
        ) as cur:
            if not cur.rowcount:
                raise InvalidInput("Bản tin này đã kết thúc, không thể dừng.")
        async with conn.execute(
            "UPDATE deliveries SET state = 'cancelled', updated_at = ?"
            " WHERE broadcast_id = ? AND state = 'pending'",
            (now, broadcast_id),
        ) as cur:
            n = cur.rowcount
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="broadcast_cancel",
            target=broadcast_id,
            detail={"cancelled": n},
        )
    return n


@dataclass(frozen=True)
class BroadcastStats:
    """Per-state counts and the most frequent failure reasons."""

    counts: dict[str, int]
    reasons: list[tuple[str, int]] = field(default_factory=list)
    acked_chats: int = 0

    @property
    def total(self) -> int:
        """Every delivery."""
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Deliveries in a final state."""
        return sum(n for s, n in self.counts.items() if s in rules.FINAL_DELIVERY_STATES)


async def broadcast_stats(db: Database, broadcast_id: int) -> BroadcastStats:
    """Counts per delivery state, failure reasons, acknowledging chats."""
    async with db.snapshot() as conn:
        async with conn.execute(
            "SELECT state, COUNT(*) FROM deliveries WHERE broadcast_id = ? GROUP BY state",
            (broadcast_id,),
        ) as cur:
            counts = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        async with conn.execute(
            "SELECT last_error, COUNT(*) FROM deliveries WHERE broadcast_id = ?"
            " AND state IN ('failed', 'blocked', 'skipped') GROUP BY last_error"
            " ORDER BY COUNT(*) DESC LIMIT 5",
            (broadcast_id,),
        ) as cur:
            reasons = [(str(r[0] or "?"), int(r[1])) for r in await cur.fetchall()]
        async with conn.execute(
            "SELECT COUNT(DISTINCT chat_id) FROM acks WHERE broadcast_id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
    return BroadcastStats(counts, reasons, int(row[0]) if row else 0)


async def recent_broadcasts(db: Database, limit: int = 10) -> list[Broadcast]:
    """Newest first."""
    rows = await db.fetch_all(
        f"SELECT {_B_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [_broadcast(r) for r in rows]
