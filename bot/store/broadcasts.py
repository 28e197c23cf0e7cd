"""Subscriptions, broadcasts, the deliveries outbox and acknowledgements (migration 003)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import aiosqlite

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, Recipient, parse_audience, parse_topics, receives
from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.rows import as_bool, as_int, as_str, opt_float, opt_int, opt_str
from bot.store.staff import record_audit

# --- subscriptions -------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """A subscribed chat as stored."""

    chat_id: int
    active: bool
    inactive_reason: str | None
    audience: str
    approval: str
    unit: str | None
    topics: tuple[str, ...]
    subscribed_by: int | None
    created_at: int
    updated_at: int

    @property
    def is_cadre(self) -> bool:
        """An approved cadre chat."""
        return self.approval == "approved"


_SUB_COLUMNS = (
    "chat_id, active, inactive_reason, audience, approval, unit, topics, subscribed_by,"
    " created_at, updated_at"
)


def _sub(row: aiosqlite.Row) -> Subscription:
    return Subscription(
        as_int(row[0]),
        as_bool(row[1]),
        opt_str(row[2]),
        as_str(row[3]),
        as_str(row[4]),
        opt_str(row[5]),
        parse_topics(str(row[6] or "")),
        opt_int(row[7]),
        as_int(row[8]),
        as_int(row[9]),
    )


async def get_subscription(db: Database, chat_id: int) -> Subscription | None:
    """The chat's subscription (active or not) or None."""
    row = await db.fetch_one(
        f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
    )
    return None if row is None else _sub(row)


async def subscribe(
    db: Database, chat_id: int, by_user: int | None, topics: Iterable[str], now: int
) -> tuple[Subscription, bool]:
    """Subscribe (or reactivate) a chat with these topics; (subscription, was new or inactive)."""
    topic_text = ",".join(sorted(set(topics)))
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT active FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cur:
            before = await cur.fetchone()
        await conn.execute(
            "INSERT INTO subscriptions (chat_id, active, topics, subscribed_by, created_at,"
            " updated_at) VALUES (?, 1, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET active = 1, inactive_reason = NULL,"
            " topics = excluded.topics, subscribed_by = excluded.subscribed_by,"
            " updated_at = excluded.updated_at",
            (chat_id, topic_text, by_user, now, now),
        )
        async with conn.execute(
            f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
    assert row is not None
    return _sub(row), before is None or not before[0]


async def deactivate(
    db: Database | aiosqlite.Connection, chat_id: int, reason: str, now: int
) -> bool:
    """Keep the subscription but stop sending to it; True if it was active."""
    sql = (
        "UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ?"
        " WHERE chat_id = ? AND active = 1"
    )
    if isinstance(db, Database):
        return await db.execute(sql, (reason, now, chat_id)) > 0
    async with db.execute(sql, (reason, now, chat_id)) as cur:
        return cur.rowcount > 0


async def reactivate(db: Database, chat_id: int, now: int) -> bool:
    """Bot added back or /start again: reactivate a subscription lost to removal/blocking.

    A chat that unsubscribed itself stays unsubscribed.
    """
    changed = await db.execute(
        "UPDATE subscriptions SET active = 1, inactive_reason = NULL, updated_at = ?"
        " WHERE chat_id = ? AND active = 0 AND COALESCE(inactive_reason, '') != 'unsubscribed'",
        (now, chat_id),
    )
    return changed > 0


async def set_approval(
    db: Database,
    chat_id: int,
    approval: str,
    *,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
    from_states: Sequence[str] | None = None,
) -> Subscription:
    """Set the cadre approval state (audience follows it), audited; NotFound if no row.

    With `from_states`, only a subscription currently in one of them changes (the
    [Duyệt]/[Từ chối] buttons of a subscription notice pass ("pending",): a stale button
    must not undo a later decision); otherwise InvalidInput naming the current state.
    """
    if approval not in ("none", "pending", "approved", "rejected", "revoked"):
        raise InvalidInput(f"unknown approval {approval}")
    audience = "cadre" if approval == "approved" else "public"
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT approval FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cur:
            current = await cur.fetchone()
        if current is None:
            raise NotFound(f"Nhóm {chat_id} chưa đăng ký nhận tin.")
        if from_states is not None and current[0] not in from_states:
            raise rules.StaleDecision(str(current[0]))
        await conn.execute(
            "UPDATE subscriptions SET approval = ?, audience = ?, decided_by = ?, updated_at = ?"
            " WHERE chat_id = ?",
            (approval, audience, actor_id, now, chat_id),
        )
        if approval != "pending":
            await record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=actor_role,
                action=f"cadre_{approval}",
                target=chat_id,
            )
        async with conn.execute(
            f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
    assert row is not None
    return _sub(row)


async def set_unit(
    db: Database,
    chat_id: int,
    unit: str | None,
    *,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
) -> None:
    """Label a subscribed chat with its unit (None clears it), audited."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE subscriptions SET unit = ?, updated_at = ? WHERE chat_id = ?",
            (unit, now, chat_id),
        ) as cur:
            if not cur.rowcount:
                raise NotFound(f"Cuộc trò chuyện {chat_id} chưa đăng ký nhận tin.")
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="set_unit",
            target=chat_id,
            detail={"unit": unit},
        )


async def list_units(db: Database) -> list[str]:
    """Unit labels in use by approved cadre chats."""
    rows = await db.fetch_all(
        "SELECT DISTINCT unit FROM subscriptions WHERE unit IS NOT NULL AND approval = 'approved'"
        " ORDER BY unit"
    )
    return [str(r[0]) for r in rows]


async def _recipients(conn: aiosqlite.Connection, audience: Audience) -> list[int]:
    sql = (
        "SELECT s.chat_id, s.active, s.approval, s.unit, s.topics FROM subscriptions s"
        " JOIN chats c ON c.id = s.chat_id WHERE s.active = 1 AND c.active = 1"
    )
    params: list[object] = []
    if audience.cadre_only:
        sql += " AND s.approval = 'approved'"
    sql += " ORDER BY s.chat_id"
    async with conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        rec = Recipient(int(r[0]), bool(r[1]), str(r[2]), r[3], parse_topics(str(r[4] or "")))
        if receives(rec, audience):
            out.append(rec.chat_id)
    return out


async def count_recipients(db: Database, audience: Audience) -> int:
    """How many chats the audience reaches right now."""
    async with db.snapshot() as conn:
        return len(await _recipients(conn, audience))


async def _cadre_among(conn: aiosqlite.Connection, chat_ids: Sequence[int]) -> int:
    if not chat_ids:
        return 0
    found = 0
    for start in range(0, len(chat_ids), 500):
        chunk = list(chat_ids[start : start + 500])
        async with conn.execute(
            "SELECT COUNT(*) FROM subscriptions WHERE approval = 'approved'"
            f" AND chat_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ) as cur:
            row = await cur.fetchone()
        found += int(row[0]) if row else 0
    return found


async def cadre_recipients(db: Database, audience: Audience) -> int:
    """How many approved cadre chats the audience reaches right now (for any audience:
    "all" and topics include cadre chats too)."""
    if not audience.may_reach_cadre:
        return 0
    async with db.snapshot() as conn:
        return await _cadre_among(conn, await _recipients(conn, audience))


@dataclass(frozen=True)
class GroupSubscription:
    """A subscribed group in the /subscribers listing."""

    chat_id: int
    title: str | None
    active: bool
    approval: str
    unit: str | None
    inactive_reason: str | None


async def subscription_overview(db: Database) -> tuple[int, list[GroupSubscription]]:
    """(active private subscriptions, every subscribed group/channel), for /subscribers."""
    async with db.snapshot() as conn:
        async with conn.execute(
            "SELECT COUNT(*) FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
            " WHERE c.type = 'private' AND s.active = 1"
        ) as cur:
            row = await cur.fetchone()
        async with conn.execute(
            "SELECT s.chat_id, c.title, s.active, s.approval, s.unit, s.inactive_reason"
            " FROM subscriptions s JOIN chats c ON c.id = s.chat_id WHERE c.type != 'private'"
            " ORDER BY s.approval, c.title, s.chat_id"
        ) as cur:
            rows = await cur.fetchall()
    groups = [
        GroupSubscription(
            as_int(r[0]), opt_str(r[1]), as_bool(r[2]), as_str(r[3]), opt_str(r[4]), opt_str(r[5])
        )
        for r in rows
    ]
    return (int(row[0]) if row else 0), groups


async def migrate_chat(db: Database, old: int, new: int, now: int) -> None:
    """A group became a supergroup: move every row of `old` to `new`, even if `new` exists.

    It is the same group: when `new` already has its own subscription (say the bot saw a
    /dangky there first, still pending), the old chat's cadre approval and unit are carried
    over. Deliveries and edit/delete operations follow the chat.
    """
    async with db.transaction() as conn:
        async with conn.execute("SELECT 1 FROM chats WHERE id = ?", (new,)) as cur:
            new_exists = await cur.fetchone() is not None
        if not new_exists:
            # ON UPDATE CASCADE carries subscriptions, deliveries, acks and message_ops along.
            await conn.execute(
                "UPDATE chats SET id = ?, type = 'supergroup', last_seen = ? WHERE id = ?",
                (new, now, old),
            )
        else:
            # Both ids known: merge old's rows into new where new has none, drop the rest.
            await conn.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, active, inactive_reason, audience,"
                " approval, unit, topics, subscribed_by, decided_by, created_at, updated_at)"
                " SELECT ?, active, inactive_reason, audience, approval, unit, topics,"
                " subscribed_by, decided_by, created_at, ? FROM subscriptions WHERE chat_id = ?",
                (new, now, old),
            )
            # The new id's own row (if it had one) gets the old approval and unit: an admin
            # approved this group; its upgrade must not lose that (nor invent one: only an
            # undecided new row is upgraded, never a rejected or revoked one).
            await conn.execute(
                "UPDATE subscriptions SET approval = 'approved', audience = 'cadre',"
                " decided_by = (SELECT o.decided_by FROM subscriptions o WHERE o.chat_id = ?),"
                " unit = COALESCE(unit, (SELECT o.unit FROM subscriptions o WHERE o.chat_id = ?)),"
                " updated_at = ? WHERE chat_id = ? AND approval IN ('none', 'pending')"
                " AND EXISTS (SELECT 1 FROM subscriptions o WHERE o.chat_id = ?"
                "  AND o.approval = 'approved')",
                (old, old, now, new, old),
            )
            await conn.execute(
                "UPDATE subscriptions SET unit = (SELECT o.unit FROM subscriptions o"
                " WHERE o.chat_id = ?), updated_at = ? WHERE chat_id = ? AND unit IS NULL"
                " AND approval = 'approved'",
                (old, now, new),
            )
            await conn.execute(
                "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?", (new, old)
            )
            # Deliveries that collided: the new chat already has its own for that broadcast.
            await conn.execute(
                "UPDATE deliveries SET state = 'skipped', last_error = 'migrated (duplicate)',"
                " updated_at = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
                (now, old),
            )
            await conn.execute(
                "UPDATE OR IGNORE message_ops SET chat_id = ? WHERE chat_id = ?", (new, old)
            )
            await conn.execute(
                "UPDATE message_ops SET state = 'cancelled', last_error = 'migrated (duplicate)',"
                " updated_at = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
                (now, old),
            )
            await conn.execute(
                "UPDATE OR IGNORE acks SET chat_id = ? WHERE chat_id = ?", (new, old)
            )
            await conn.execute(
                "UPDATE subscriptions SET active = 0, inactive_reason = 'migrated', updated_at = ?"
                " WHERE chat_id = ?",
                (now, old),
            )
            await conn.execute(
                "UPDATE chats SET active = 0, inactive_reason = 'migrated' WHERE id = ?", (old,)
            )
        await record_audit(
            conn,
            at=now,
            actor_id=None,
            actor_role=None,
            action="chat_migrated",
            target=old,
            detail={"new": new},
        )


async def requeue_after_migration(db: Database, delivery_id: int, now: float) -> bool:
    """A delivery interrupted by "group migrated" goes back to pending (now for the new
    chat id), so the next attempt passes mark_sending's eligibility check like any other.
    True if it was still in flight (not merged into the new chat's own delivery)."""
    changed = await db.execute(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = 0, attempts = attempts + 1,"
        " last_error = 'group migrated to a supergroup', updated_at = ?"
        " WHERE id = ? AND state = 'sending'",
        (now, delivery_id),
    )
    return changed > 0


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
        audience = parse_audience(str(row[0]))
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


async def retry_failed(
    db: Database, broadcast_id: int, *, actor_id: int | None, actor_role: str | None, now: int
) -> int:
    """Put only the failed deliveries back in the queue; return how many."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT state FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Không có bản tin #{broadcast_id}.")
        if row[0] not in ("done", "sending", "queued"):
            raise InvalidInput("Chỉ gửi lại được bản tin đã gửi.")
        async with conn.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0,"
            " updated_at = ? WHERE broadcast_id = ? AND state = 'failed'",
            (now, broadcast_id),
        ) as cur:
            n = cur.rowcount
        if n:
            await conn.execute(
                "UPDATE broadcasts SET state = 'sending', reported = 0, finished_at = NULL"
                " WHERE id = ? AND state = 'done'",
                (broadcast_id,),
            )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="broadcast_retry",
            target=broadcast_id,
            detail={"retried": n},
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


async def _follow_up_ops(
    conn: aiosqlite.Connection, outcomes: Sequence[Outcome], now: float
) -> None:
    """Messages sent by a request that was in flight during [Sửa]/[Thu hồi] get the same."""
    with_ids = [o for o in outcomes if o.message_ids]
    if not with_ids:
        return
    bids = sorted({o.broadcast_id for o in with_ids})
    async with conn.execute(
        f"SELECT id, text_rev, revoked_at, parts FROM broadcasts WHERE id IN"
        f" ({','.join('?' * len(bids))}) AND (revoked_at IS NOT NULL OR text_rev > 0)",
        bids,
    ) as cur:
        info = {int(r[0]): (int(r[1]), r[2], len(json.loads(r[3]))) for r in await cur.fetchall()}
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
    return False


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


# --- the dispatcher's side of the outbox -----------------------------------------------


@dataclass(frozen=True)
class Due:
    """A delivery the dispatcher may send."""

    id: int
    broadcast_id: int
    chat_id: int
    attempts: int
    message_ids: tuple[int, ...]  # parts already sent (a resumed split message)


async def reset_in_flight(db: Database, now: float) -> int:
    """At start: deliveries left "sending" by a crash go back to pending (possibly resent);
    so do edits/deletions. Those of a broadcast stopped meanwhile are cancelled instead."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET state = 'cancelled', last_error = 'possibly sent; stopped',"
            " updated_at = ? WHERE state = 'sending' AND broadcast_id IN ("
            " SELECT id FROM broadcasts WHERE state = 'cancelled')",
            (now,),
        )
        async with conn.execute(
            "UPDATE deliveries SET state = 'pending', resends = resends + 1, next_attempt_at = 0,"
            " updated_at = ? WHERE state = 'sending'",
            (now,),
        ) as cur:
            n = cur.rowcount
        await conn.execute(
            "UPDATE message_ops SET state = 'pending', next_attempt_at = 0, updated_at = ?"
            " WHERE state = 'sending'",
            (now,),
        )
    return n


async def recover_orphans(
    db: Database,
    *,
    in_flight: Iterable[int],
    ops_in_flight: Iterable[int],
    older_than: float,
    now: float,
) -> tuple[int, int]:
    """Rows left "sending" by a task that died without recording its outcome (say the
    database refused the write), while the bot keeps running: like after a restart, they
    go back to pending ("possibly sent": resent, counted in resends). Only rows no live
    task holds (`in_flight`) and not touched since `older_than`. Returns (deliveries, ops).
    """
    held = set(in_flight)
    held_ops = set(ops_in_flight)
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT d.id, b.state FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id"
            " WHERE d.state = 'sending' AND COALESCE(d.updated_at, 0) < ?",
            (older_than,),
        ) as cur:
            rows = [(int(r[0]), str(r[1])) for r in await cur.fetchall()]
        orphans = [(did, bstate) for did, bstate in rows if did not in held]
        for did, bstate in orphans:
            if bstate == "cancelled":
                await conn.execute(
                    "UPDATE deliveries SET state = 'cancelled', last_error = 'possibly sent;"
                    " stopped', updated_at = ? WHERE id = ? AND state = 'sending'",
                    (now, did),
                )
            else:
                await conn.execute(
                    "UPDATE deliveries SET state = 'pending', resends = resends + 1,"
                    " next_attempt_at = 0, updated_at = ? WHERE id = ? AND state = 'sending'",
                    (now, did),
                )
        async with conn.execute(
            "SELECT id FROM message_ops WHERE state = 'sending' AND COALESCE(updated_at, 0) < ?",
            (older_than,),
        ) as cur:
            op_rows = [int(r[0]) for r in await cur.fetchall()]
        op_orphans = [i for i in op_rows if i not in held_ops]
        for oid in op_orphans:
            await conn.execute(
                "UPDATE message_ops SET state = 'pending', next_attempt_at = 0, updated_at = ?"
                " WHERE id = ? AND state = 'sending'",
                (now, oid),
            )
    return len(orphans), len(op_orphans)


async def fetch_due(db: Database, now: float, limit: int) -> list[Due]:
    """Pending deliveries whose time has come, of broadcasts still running. A read only:
    nothing is checkpointed on fetch."""
    rows = await db.fetch_all(
        "SELECT d.id, d.broadcast_id, d.chat_id, d.attempts, d.message_ids FROM deliveries d"
        " JOIN broadcasts b ON b.id = d.broadcast_id"
        " WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND b.state IN ('queued', 'sending')"
        " ORDER BY d.next_attempt_at, d.id LIMIT ?",
        (now, limit),
    )
    return [
        Due(int(r[0]), int(r[1]), int(r[2]), int(r[3]), tuple(json.loads(r[4]) if r[4] else ()))
        for r in rows
    ]


def _ineligible(
    *,
    cadre_only: bool,
    cadre_ok: bool,
    audience_key: str,
    sub_active: object,
    approval: object,
    unit: object,
) -> str | None:
    """Why a chat may not receive (or have edited) a broadcast right now, or None.

    `cadre_ok` False (an editor's broadcast no admin approved) keeps it out of approved
    cadre chats whatever the audience; None skips that rule (edits: only admins edit).
    """
    if sub_active is None or not sub_active:
        return "unsubscribed"
    if cadre_only:
        audience = parse_audience(audience_key)
        if approval != "approved":
            return "not an approved cadre chat"
        if audience.kind == "unit" and unit not in audience.units:
            return "unit changed"
    elif approval == "approved" and not cadre_ok:
        return "cadre chat: needs an admin's approval"
    return None


async def mark_sending(
    db: Database, ids: Sequence[int], now: float
) -> tuple[dict[int, int], dict[int, str]]:
    """One transaction: mark deliveries "sending" right before their request goes out.

    Re-checks each one at this moment: still pending, broadcast still running, the chat's
    subscription still active, for cadre-only broadcasts still an approved cadre chat
    (of the unit, for unit broadcasts), and an approved cadre chat only for broadcasts an
    admin approved. Returns ({delivery id: chat id} to send, {delivery id: reason} skipped).
    """
    go: dict[int, int] = {}
    skipped: dict[int, str] = {}
    if not ids:
        return go, skipped
    marks = ",".join("?" * len(ids))
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT d.id, d.chat_id, d.state, b.state, b.cadre_only, b.audience, s.active,"
            " s.approval, s.unit, b.id, b.cadre_ok FROM deliveries d"
            " JOIN broadcasts b ON b.id = d.broadcast_id"
            f" LEFT JOIN subscriptions s ON s.chat_id = d.chat_id WHERE d.id IN ({marks})",
            list(ids),
        ) as cur:
            rows = await cur.fetchall()
        sending_ids: list[int] = []
        starting: set[int] = set()
        for r in rows:
            did, chat_id, dstate, bstate = int(r[0]), int(r[1]), r[2], r[3]
            if dstate != "pending" or bstate not in ("queued", "sending"):
                continue  # cancelled or handled meanwhile: leave it alone
            reason = _ineligible(
                cadre_only=bool(r[4]),
                cadre_ok=bool(r[10]),
                audience_key=str(r[5]),
                sub_active=r[6],
                approval=r[7],
                unit=r[8],
            )
            if reason:
                skipped[did] = reason
            else:
                go[did] = chat_id
                sending_ids.append(did)
                if bstate == "queued":
                    starting.add(int(r[9]))
        if sending_ids:
            await conn.execute(
                f"UPDATE deliveries SET state = 'sending', updated_at = ?"
                f" WHERE id IN ({','.join('?' * len(sending_ids))})",
                (now, *sending_ids),
            )
        if skipped:
            await conn.executemany(
                "UPDATE deliveries SET state = 'skipped', last_error = ?, updated_at = ?"
                " WHERE id = ?",
                [(reason, now, did) for did, reason in skipped.items()],
            )
        for bid in starting:
            await conn.execute(
                "UPDATE broadcasts SET state = 'sending', started_at = COALESCE(started_at, ?)"
                " WHERE id = ? AND state = 'queued'",
                (now, bid),
            )
    return go, skipped


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery's send."""

    delivery_id: int
    broadcast_id: int
    chat_id: int
    state: str  # sent | failed | blocked | pending (retry later)
    message_ids: tuple[int, ...] = ()
    error: str | None = None
    next_attempt_at: float = 0.0
    used_attempt: bool = False
    deactivate_reason: str | None = None
    text_rev: int = -1  # the text revision that was sent (-1: unknown)


async def record_outcomes(db: Database, outcomes: Sequence[Outcome], now: float) -> list[int]:
    """One transaction for a batch of outcomes; return broadcasts that just finished."""
    if not outcomes:
        return []
    finished: list[int] = []
    async with db.transaction() as conn:
        sent = [o for o in outcomes if o.state == "sent"]
        if sent:
            await conn.executemany(
                "UPDATE deliveries SET state = 'sent', message_ids = ?, sent_at = ?,"
                " last_error = NULL, updated_at = ? WHERE id = ?",
                [(json.dumps(list(o.message_ids)), now, now, o.delivery_id) for o in sent],
            )
        others = [o for o in outcomes if o.state != "sent"]
        for o in others:
            # A retry-later outcome of a broadcast stopped meanwhile stays stopped.
            await conn.execute(
                "UPDATE deliveries SET state = CASE WHEN ? = 'pending' AND (SELECT b.state FROM"
                " broadcasts b WHERE b.id = deliveries.broadcast_id) = 'cancelled'"
                " THEN 'cancelled' ELSE ? END, last_error = ?, next_attempt_at = ?,"
                " attempts = attempts + ?, message_ids = ?, updated_at = ? WHERE id = ?",
                (
                    o.state,
                    o.state,
                    o.error,
                    o.next_attempt_at,
                    int(o.used_attempt),
                    json.dumps(list(o.message_ids)) if o.message_ids else None,
                    now,
                    o.delivery_id,
                ),
            )
            if o.deactivate_reason:
                await deactivate(conn, o.chat_id, o.deactivate_reason, int(now))
                await conn.execute(
                    "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?",
                    (o.deactivate_reason, o.chat_id),
                )
        await _follow_up_ops(conn, outcomes, now)
        for bid in sorted({o.broadcast_id for o in outcomes}):
            if await _finish_if_done(conn, bid, now):
                finished.append(bid)
    return finished


async def _finish_if_done(conn: aiosqlite.Connection, broadcast_id: int, now: float) -> bool:
    async with conn.execute(
        "SELECT 1 FROM deliveries WHERE broadcast_id = ? AND state IN ('pending', 'sending')"
        " LIMIT 1",
        (broadcast_id,),
    ) as cur:
        if await cur.fetchone() is not None:
            return False
    async with conn.execute(
        "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE id = ? AND state = 'sending'",
        (now, broadcast_id),
    ) as cur:
        return cur.rowcount > 0


async def finish_idle_broadcasts(db: Database, now: float) -> list[int]:
    """Broadcasts marked sending with nothing left to do (all skipped/cancelled meanwhile)."""
    rows = await db.fetch_all(
        "SELECT id FROM broadcasts b WHERE state IN ('sending', 'queued') AND NOT EXISTS ("
        " SELECT 1 FROM deliveries d WHERE d.broadcast_id = b.id"
        " AND d.state IN ('pending', 'sending'))"
    )
    finished = []
    for row in rows:
        async with (
            db.transaction() as conn,
            conn.execute(
                "UPDATE broadcasts SET state = 'done', finished_at = ?,"
                " started_at = COALESCE(started_at, ?)"
                " WHERE id = ? AND state IN ('sending', 'queued')",
                (now, now, int(row[0])),
            ) as cur,
        ):
            if cur.rowcount:
                finished.append(int(row[0]))
    return finished


async def unreported_done(db: Database) -> list[int]:
    """Finished broadcasts whose final report was not sent yet."""
    rows = await db.fetch_all(
        "SELECT id FROM broadcasts WHERE state IN ('done', 'cancelled') AND reported = 0"
        " AND started_at IS NOT NULL"
    )
    return [int(r[0]) for r in rows]


async def mark_reported(db: Database, broadcast_id: int) -> None:
    """The final report went out."""
    await db.execute("UPDATE broadcasts SET reported = 1 WHERE id = ?", (broadcast_id,))


async def running_broadcasts(db: Database) -> list[Broadcast]:
    """Broadcasts being sent now (for progress messages)."""
    rows = await db.fetch_all(f"SELECT {_B_COLUMNS} FROM broadcasts WHERE state = 'sending'")
    return [_broadcast(r) for r in rows]


async def next_due_time(db: Database) -> float | None:
    """When the earliest pending delivery becomes due (None: nothing pending)."""
    value = await db.fetch_value(
        "SELECT MIN(t) FROM (SELECT MIN(d.next_attempt_at) AS t FROM deliveries d JOIN broadcasts b"
        " ON b.id = d.broadcast_id WHERE d.state = 'pending' AND b.state IN ('queued', 'sending')"
        " UNION ALL SELECT MIN(next_attempt_at) FROM message_ops WHERE state = 'pending')"
    )
    return None if value is None else float(value)


# --- /forgetme -------------------------------------------------------------------------


async def forget_user(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """Delete the user's private subscription; keep their acks anonymous (user_id NULL)."""
    erased: list[str] = []
    async with conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (user_id,)) as cur:
        if cur.rowcount:
            erased.append("đăng ký nhận tin trong cuộc trò chuyện riêng")
    async with conn.execute("UPDATE acks SET user_id = NULL WHERE user_id = ?", (user_id,)) as cur:
        if cur.rowcount:
            erased.append(f"danh tính trong {cur.rowcount} lượt xác nhận «Đã nhận» (đã ẩn danh)")
    return erased
