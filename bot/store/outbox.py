"""The deliveries outbox the dispatcher drains: fetch, mark sending, record outcomes,
retries, crash recovery, finishing broadcasts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.drafts import _B_COLUMNS, Broadcast, _broadcast
from bot.store.message_ops import BroadcastRevision, _follow_up_ops
from bot.store.staff import record_audit
from bot.store.subscriptions import _ineligible, deactivate


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


async def retry_failed(
    db: Database, broadcast_id: int, *, actor_id: int | None, actor_role: str | None, now: int
) -> int:
    """Put only the failed deliveries back in the queue; return how many."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT state, revoked_at FROM broadcasts WHERE id = ?", (broadcast_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"Không có bản tin #{broadcast_id}.")
        if row[1] is not None:
            # Recalled means recalled: a retry would send the recalled text (issue 10).
            raise InvalidInput("Bản tin này đã bị thu hồi; không gửi lại được.")
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
    # Looked for first without a transaction: one trip a second while nothing is
    # orphaned (the usual case) instead of eight (issue 17).
    stale = await db.fetch_all(
        "SELECT 'delivery', id FROM deliveries"
        " WHERE state = 'sending' AND COALESCE(updated_at, 0) < :older"
        " UNION ALL SELECT 'op', id FROM message_ops"
        " WHERE state = 'sending' AND COALESCE(updated_at, 0) < :older",
        {"older": older_than},
    )
    if all(int(r[1]) in (held if r[0] == "delivery" else held_ops) for r in stale):
        return 0, 0
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


async def mark_sending(
    db: Database, ids: Sequence[int], now: float
) -> tuple[dict[int, int], dict[int, str]]:
    """One transaction: mark deliveries "sending" right before their request goes out.

    Re-checks each one at this moment: still pending, broadcast still running, the chat's
    subscription still active, for cadre-only broadcasts still an approved cadre chat
    (of the unit, for unit broadcasts), and an approved cadre chat only for broadcasts an
    admin approved. Returns ({delivery id: chat id} to send, {delivery id: reason} skipped).
    """
    go, skipped, _ = await commit_batch(db, ids, (), now)
    return go, skipped


async def commit_batch(
    db: Database, ids: Sequence[int], outcomes: Sequence[Outcome], now: float
) -> tuple[dict[int, int], dict[int, str], list[int]]:
    """The dispatcher's group commit: mark `ids` "sending" (as mark_sending) and record
    `outcomes` (as record_outcomes) in ONE transaction.

    Every statement is one trip to the database thread, so a batch costs four trips
    whatever its size (issue 17: ≤ 0.2 per delivery): BEGIN, the marks' re-check, ONE
    executemany for the marks and the sent outcomes (_SET_STATE), COMMIT. Returns
    (go, skipped, broadcasts that just finished)."""
    if not ids and not outcomes:
        return {}, {}, []
    revisions: dict[int, BroadcastRevision] = {}
    busy: set[int] = set()
    async with db.transaction() as conn:
        go, skipped = await _mark(conn, ids, now, revisions, busy) if ids else ({}, {})
        sent = [o for o in outcomes if o.state == "sent"]
        if go or sent:
            await conn.executemany(
                _SET_STATE,
                [("sending", None, None, now, did) for did in go]
                + [
                    ("sent", json.dumps(list(o.message_ids)), now, now, o.delivery_id) for o in sent
                ],
            )
        finished = await _record(conn, outcomes, now, revisions, busy) if outcomes else []
    return go, skipped, finished


# A mark ("sending": a request is about to go out; parts already sent keep their ids)
# and a sent outcome (message ids, sent_at, no error) in one statement, so a batch's
# marks and outcomes are one executemany: one trip to the database thread.
_SET_STATE = (
    "UPDATE deliveries SET state = ?1, message_ids = COALESCE(?2, message_ids),"
    " sent_at = COALESCE(?3, sent_at),"
    " last_error = CASE WHEN ?1 = 'sent' THEN NULL ELSE last_error END, updated_at = ?4"
    " WHERE id = ?5"
)


async def _mark(
    conn: aiosqlite.Connection,
    ids: Sequence[int],
    now: float,
    revisions: dict[int, BroadcastRevision],
    busy: set[int],
) -> tuple[dict[int, int], dict[int, str]]:
    """Re-check the deliveries to mark: {id: chat id} may go (the caller marks them
    "sending"), {id: reason} skipped (marked here). Fills `revisions` (the broadcasts'
    edit state, read here anyway) and `busy` (broadcasts with a delivery marked now:
    certainly not finished)."""
    go: dict[int, int] = {}
    skipped: dict[int, str] = {}
    marks = ",".join("?" * len(ids))
    rows = await conn.execute_fetchall(
        "SELECT d.id, d.chat_id, d.state, b.state, b.cadre_only, b.audience, s.active,"
        " s.approval, s.unit, b.id, b.cadre_ok, b.text_rev, b.revoked_at,"
        " json_array_length(b.parts) FROM deliveries d"
        " JOIN broadcasts b ON b.id = d.broadcast_id"
        f" LEFT JOIN subscriptions s ON s.chat_id = d.chat_id WHERE d.id IN ({marks})",
        list(ids),
    )
    starting: set[int] = set()
    for r in rows:
        did, chat_id, dstate, bstate = int(r[0]), int(r[1]), r[2], r[3]
        revisions[int(r[9])] = (int(r[11]), r[12], int(r[13]))
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
            busy.add(int(r[9]))
            if bstate == "queued":
                starting.add(int(r[9]))
    if skipped:
        await conn.executemany(
            "UPDATE deliveries SET state = 'skipped', last_error = ?, updated_at = ? WHERE id = ?",
            [(reason, now, did) for did, reason in skipped.items()],
        )
    for bid in starting:
        await conn.execute(
            "UPDATE broadcasts SET state = 'sending', started_at = COALESCE(started_at, ?)"
            " WHERE id = ? AND state = 'queued'",
            (now, bid),
        )
    return go, skipped


async def still_sending(db: Database, delivery_id: int) -> bool:
    """The delivery is still marked "sending" and its broadcast still running (re-checked
    after a wait for a rate-limit slot: a broadcast stopped meanwhile is not sent)."""
    rows = await db.fetch_all(
        "SELECT 1 FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id"
        " WHERE d.id = ? AND d.state = 'sending' AND b.state IN ('queued', 'sending')",
        (delivery_id,),
    )
    return bool(rows)


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
    _, _, finished = await commit_batch(db, (), outcomes, now)
    return finished


async def _record(
    conn: aiosqlite.Connection,
    outcomes: Sequence[Outcome],
    now: float,
    revisions: dict[int, BroadcastRevision] | None = None,
    busy: set[int] | None = None,
) -> list[int]:
    """Record the outcomes other than "sent" (commit_batch writes those), follow-up
    edits/deletions, finished broadcasts."""
    finished: list[int] = []
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
    await _follow_up_ops(conn, outcomes, now, revisions)
    for bid in sorted({o.broadcast_id for o in outcomes} - (busy or set())):
        if await _finish_if_done(conn, bid, now):
            finished.append(bid)
    return finished


async def _finish_if_done(conn: aiosqlite.Connection, broadcast_id: int, now: float) -> bool:
    if await conn.execute_fetchall(
        "SELECT 1 FROM deliveries WHERE broadcast_id = ? AND state IN ('pending', 'sending')"
        " LIMIT 1",
        (broadcast_id,),
    ):
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
