"""Ý kiến as cases (migration 008): state changes with history and audit, claims and
assignments, ratings, the reminder bookkeeping, report facts and exports. Routing,
forum topics, answer templates and public answers are in bot.store.case_office.

The comment itself (text, masking, limits, answers and their delivery) stays in
bot.store.feedback; a case is the same row seen by the office.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import aiosqlite

from bot.domain import casework as rules
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.store.db import Database
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Case:
    """A comment as the office handles it."""

    id: int
    user_id: int | None
    chat_id: int | None
    category: str
    unit: str | None
    text: str  # masked
    photo_file_id: str | None
    photo_caption: str | None
    state: str
    holder_id: int | None
    due: date | None  # None only for rows not yet backfilled (see due_or)
    created_at: int
    resolved_at: int | None
    transferred_to: str | None
    allow_publish: bool
    rating: str | None
    follow_up_of: int | None
    answer: str | None
    status: str  # the moderation status of bot.store.feedback

    @property
    def state_vi(self) -> str:
        """The case state in Vietnamese."""
        return rules.STATE_VI.get(self.state, self.state)

    def due_or(self, policy: rules.CasePolicy) -> date:
        """The stored due day, or the policy's for rows from before casework."""
        return self.due or policy.due_for(self.created_at, self.category)


_COLUMNS = (
    "id, user_id, chat_id, category, unit, text_masked, photo_file_id, photo_caption,"
    " case_state, holder_id, due_date, created_at, resolved_at, transferred_to,"
    " allow_publish, rating, follow_up_of, answer, status"
)


def _case(r: Any) -> Case:
    return Case(
        int(r[0]),
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        date.fromisoformat(r[10]) if r[10] else None,
        int(r[11]),
        r[12],
        r[13],
        bool(r[14]),
        r[15],
        r[16],
        r[17],
        r[18],
    )


def _found(rows: Iterable[aiosqlite.Row], case_id: int) -> Case:
    row = next(iter(rows), None)
    if row is None or row[18] == "deleted":
        raise NotFound(f"Không tìm thấy ý kiến #{case_id}.")
    return _case(row)


async def _one(conn: aiosqlite.Connection, case_id: int) -> Case:
    # execute_fetchall: one trip to the database thread (execute + fetchone + close: three)
    rows = await conn.execute_fetchall(f"SELECT {_COLUMNS} FROM comments WHERE id = ?", (case_id,))
    return _found(rows, case_id)


async def get(db: Database, case_id: int) -> Case:
    """One case; NotFound if absent or deleted (one SELECT: one trip to the database)."""
    row = await db.fetch_one(f"SELECT {_COLUMNS} FROM comments WHERE id = ?", (case_id,))
    if row is None or row[18] == "deleted":
        raise NotFound(f"Không tìm thấy ý kiến #{case_id}.")
    return _case(row)


async def get_many(db: Database, case_ids: Sequence[int]) -> dict[int, Case]:
    """The cases of `case_ids` that exist and are not deleted, by id (one SELECT)."""
    if not case_ids:
        return {}
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM comments WHERE id IN ({','.join('?' for _ in case_ids)})",
        list(case_ids),
    )
    return {c.id: c for c in map(_case, rows) if c.status != "deleted"}


async def of_user(db: Database, user_id: int, limit: int = 10) -> list[Case]:
    """The citizen's own cases, newest first."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM comments WHERE user_id = ? AND status != 'deleted'"
        " ORDER BY id DESC LIMIT ?",
        (user_id, limit),
    )
    return [_case(r) for r in rows]


async def add_history(
    conn: aiosqlite.Connection,
    case_id: int,
    *,
    at: int,
    actor_id: int | None,
    event: str,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
) -> None:
    """Record one change of a case (inside the caller's transaction)."""
    await conn.execute(
        "INSERT INTO case_history (comment_id, at, actor_id, event, from_state, to_state, note)"
        " VALUES (?,?,?,?,?,?,?)",
        (case_id, at, actor_id, event, from_state, to_state, note),
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded change of a case."""

    at: int
    actor_id: int | None
    event: str
    from_state: str | None
    to_state: str | None
    note: str | None


async def history(db: Database, case_id: int) -> list[HistoryEntry]:
    """Every change of the case, oldest first."""
    rows = await db.fetch_all(
        "SELECT at, actor_id, event, from_state, to_state, note FROM case_history"
        " WHERE comment_id = ? ORDER BY id",
        (case_id,),
    )
    return [HistoryEntry(*r) for r in rows]


# --------------------------------------------------------------------------- changes


async def change_state(
    db: Database,
    case_id: int,
    target: str,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
    note: str | None = None,
) -> tuple[Case, bool]:
    """Move a case to `target` (rules.check_transition), with history and audit.

    Returns (case, changed): pressing the same state twice changes nothing.
    """
    note = rules.check_note(target, note)
    async with db.transaction() as conn:
        before = await _one(conn, case_id)
        if before.state == target and target != rules.ANSWERED:
            return before, False
        rules.check_transition(before.state, target)
        resolved = before.resolved_at
        if rules.is_resolved(target) and resolved is None:
            resolved = now
        holder = before.holder_id
        if target == rules.IN_PROGRESS and holder is None:
            holder = actor_id
        await conn.execute(
            "UPDATE comments SET case_state = ?, resolved_at = ?, holder_id = ?,"
            " transferred_to = CASE WHEN ? = 'chuyen' THEN ? ELSE transferred_to END"
            " WHERE id = ?",
            (target, resolved, holder, target, note, case_id),
        )
        await add_history(
            conn,
            case_id,
            at=now,
            actor_id=actor_id,
            event="state",
            from_state=before.state,
            to_state=target,
            note=note,
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.state",
            target=f"comment:{case_id}",
            detail={"from": before.state, "to": target, **({"note": note} if note else {})},
        )
        return await _one(conn, case_id), True


async def claim(
    db: Database, case_id: int, *, actor_id: int, actor_role: str | None, now: int
) -> tuple[Case, int | None]:
    """[Nhận xử lý]: the actor holds the case (a new one becomes "đang xử lý").

    Returns (case, previous holder). Another holder's case is not taken: only an
    admin reassigns (assign); the caller says who holds it.
    """
    async with db.transaction() as conn:
        before = await _one(conn, case_id)
        if before.holder_id is not None and before.holder_id != actor_id:
            return before, before.holder_id
        if before.holder_id == actor_id:
            return before, actor_id
        state = rules.IN_PROGRESS if before.state == rules.NEW else before.state
        await conn.execute(
            "UPDATE comments SET holder_id = ?, case_state = ? WHERE id = ?",
            (actor_id, state, case_id),
        )
        await add_history(
            conn,
            case_id,
            at=now,
            actor_id=actor_id,
            event="claim",
            from_state=before.state,
            to_state=state,
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.claim",
            target=f"comment:{case_id}",
            detail={"from": before.state},
        )
        return await _one(conn, case_id), None


async def assign(
    db: Database,
    case_id: int,
    holder_id: int,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
) -> Case:
    """An admin gives the case to `holder_id` (the caller checked the holder's role)."""
    async with db.transaction() as conn:
        before = await _one(conn, case_id)
        state = rules.IN_PROGRESS if before.state == rules.NEW else before.state
        await conn.execute(
            "UPDATE comments SET holder_id = ?, case_state = ? WHERE id = ?",
            (holder_id, state, case_id),
        )
        await add_history(
            conn,
            case_id,
            at=now,
            actor_id=actor_id,
            event="assign",
            from_state=before.state,
            to_state=state,
            note=str(holder_id),
        )
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.assign",
            target=f"comment:{case_id}",
            detail={"holder": holder_id, "previous": before.holder_id},
        )
        return await _one(conn, case_id)


async def record_answered(
    conn: aiosqlite.Connection, case_id: int, *, actor_id: int | None, now: int
) -> None:
    """Inside bot.store.feedback.set_answer's transaction: the case is "đã trả lời"."""
    async with conn.execute(
        "SELECT case_state, holder_id FROM comments WHERE id = ?", (case_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return
    await conn.execute(
        "UPDATE comments SET case_state = 'da_tra_loi', resolved_at = COALESCE(resolved_at, ?),"
        " holder_id = COALESCE(holder_id, ?) WHERE id = ?",
        (now, actor_id, case_id),
    )
    await add_history(
        conn,
        case_id,
        at=now,
        actor_id=actor_id,
        event="answer",
        from_state=row[0],
        to_state=rules.ANSWERED,
    )


async def rate(db: Database, case_id: int, *, user_id: int, rating: str, now: int) -> Case:
    """The citizen rates the answer (only the sender, only once answered; may change)."""
    if rating not in rules.RATING_VI:
        raise InvalidInput("Đánh giá không hợp lệ.")
    async with db.transaction() as conn:
        before = await _one(conn, case_id)
        if before.user_id != user_id:
            raise PermissionDenied("Chỉ người gửi ý kiến mới đánh giá được câu trả lời.")
        if before.answer is None:
            raise InvalidInput("Ý kiến này chưa có câu trả lời để đánh giá.")
        await conn.execute(
            "UPDATE comments SET rating = ?, rated_at = ? WHERE id = ?", (rating, now, case_id)
        )
        await add_history(conn, case_id, at=now, actor_id=None, event="rate", note=rating)
        return await _one(conn, case_id)


async def set_allow_publish(db: Database, case_id: int, *, user_id: int, allow: bool) -> None:
    """The citizen's consent to publish the question anonymously with its answer."""
    await db.execute(
        "UPDATE comments SET allow_publish = ? WHERE id = ? AND user_id = ?",
        (int(allow), case_id, user_id),
    )


async def backfill_due_dates(db: Database, policy: rules.CasePolicy) -> int:
    """Store the due day of rows from before casework (computed with today's policy)."""
    rows = await db.fetch_all(
        "SELECT id, created_at, category FROM comments WHERE due_date IS NULL"
    )
    if not rows:
        return 0
    await db.executemany(
        "UPDATE comments SET due_date = ? WHERE id = ? AND due_date IS NULL",
        [(policy.due_for(int(r[1]), r[2]).isoformat(), int(r[0])) for r in rows],
    )
    return len(rows)


# --------------------------------------------------------------------------- reminders


@dataclass(frozen=True)
class OpenCase:
    """An open case as the reminder worker sees it."""

    id: int
    category: str
    unit: str | None
    holder_id: int | None
    due: date | None
    created_at: int
    reminded_on: date | None = None
    escalated_on: date | None = None

    def alerted(self, kind: str, today: date) -> bool:
        """This kind of alert was already sent today (no write needed to know)."""
        return (self.reminded_on if kind == rules.REMIND else self.escalated_on) == today


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def open_cases(db: Database) -> list[OpenCase]:
    """Cases whose deadline runs (mới, đang xử lý)."""
    rows = await db.fetch_all(
        "SELECT id, category, unit, holder_id, due_date, created_at, reminded_on, escalated_on"
        " FROM comments WHERE case_state IN ('moi', 'dang_xu_ly') AND status != 'deleted'"
        " ORDER BY id"
    )
    return [
        OpenCase(int(r[0]), r[1], r[2], r[3], _day(r[4]), int(r[5]), _day(r[6]), _day(r[7]))
        for r in rows
    ]


async def take_alert(db: Database, case_id: int, kind: str, today: date, now: int) -> bool:
    """Claim today's reminder or escalation of a case (at most one per day): True when
    this call took it (the caller then sends it), False when it was already sent today."""
    column = "reminded_on" if kind == rules.REMIND else "escalated_on"
    day = today.isoformat()
    async with db.transaction() as conn:
        async with conn.execute(
            f"UPDATE comments SET {column} = ? WHERE id = ?"
            f" AND ({column} IS NULL OR {column} != ?)",
            (day, case_id, day),
        ) as cur:
            taken = cur.rowcount > 0
        if taken:
            await add_history(conn, case_id, at=now, actor_id=None, event=kind)
        return taken


# --------------------------------------------------------------------------- figures, export


async def facts(
    db: Database, start: int, end: int, policy: rules.CasePolicy
) -> list[rules.CaseFact]:
    """The report facts of cases received in [start, end)."""
    async with db.snapshot() as conn:
        return await case_facts(conn, start, end, policy)


async def case_facts(
    conn: aiosqlite.Connection, start: int, end: int, policy: rules.CasePolicy
) -> list[rules.CaseFact]:
    """facts() inside the caller's snapshot (bot.store.reports reads it with the rest)."""
    async with conn.execute(
        "SELECT category, unit, created_at, due_date, resolved_at, rating FROM comments"
        " WHERE created_at >= ? AND created_at < ? AND status != 'deleted'",
        (start, end),
    ) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        created = int(r[2])
        due = date.fromisoformat(r[3]) if r[3] else policy.due_for(created, r[0])
        resolved = rules.local_day(int(r[4]), policy.tz) if r[4] is not None else None
        out.append(
            rules.CaseFact(r[0], r[1], rules.local_day(created, policy.tz), due, resolved, r[5])
        )
    return out


async def export_cases(
    db: Database, start: int, end: int, policy: rules.CasePolicy, names: dict[int, str]
) -> list[rules.ExportCase]:
    """Cases received in [start, end) for the export, oldest first (masked texts only)."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS}, answered_at FROM comments WHERE created_at >= ? AND created_at < ?"
        " AND status != 'deleted' ORDER BY created_at, id",
        (start, end),
    )
    out = []
    for r in rows:
        c = _case(r)
        out.append(
            rules.ExportCase(
                number=c.id,
                received_at=datetime.fromtimestamp(c.created_at, policy.tz),
                category=c.category,
                unit=c.unit,
                state=c.state,
                holder=names.get(c.holder_id) if c.holder_id is not None else None,
                due=c.due_or(policy),
                resolved=(
                    rules.local_day(c.resolved_at, policy.tz) if c.resolved_at is not None else None
                ),
                rating=c.rating,
                transferred_to=c.transferred_to,
                text=c.text + (f"\n[Ảnh] {c.photo_caption}" if c.photo_caption else ""),
                answer=c.answer,
                follow_up_of=c.follow_up_of,
            )
        )
    return out


# --------------------------------------------------------------------------- /forgetme


async def forget_user(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """A staff member erasing themselves leaves the cases they held, routes, history
    and templates without their id (the audit log keeps who did what). A citizen's id
    is in comments only, which bot.store.feedback.forget_user anonymises."""
    await conn.execute("UPDATE comments SET holder_id = NULL WHERE holder_id = ?", (user_id,))
    await conn.execute("UPDATE case_history SET actor_id = NULL WHERE actor_id = ?", (user_id,))
    await conn.execute(
        "UPDATE case_history SET note = NULL WHERE event = 'assign' AND note = ?",
        (str(user_id),),
    )
    await conn.execute("DELETE FROM case_routes WHERE moderator_id = ?", (user_id,))
    await conn.execute("UPDATE case_routes SET created_by = NULL WHERE created_by = ?", (user_id,))
    await conn.execute(
        "UPDATE answer_templates SET created_by = NULL WHERE created_by = ?", (user_id,)
    )
    await conn.execute(
        "UPDATE public_answers SET published_by = NULL WHERE published_by = ?", (user_id,)
    )
    return []
