"""Comments, moderator notices and bans (migration 004)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import aiosqlite

from bot.domain import feedback as rules
from bot.domain.casework import Intake
from bot.domain.clock import format_local
from bot.domain.errors import NotFound
from bot.domain.text import nfc
from bot.store import cases
from bot.store.db import Database
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Comment:
    """A stored comment."""

    id: int
    user_id: int | None
    chat_id: int | None
    user_name: str | None
    article_id: str | None
    text: str  # masked
    masked_kinds: frozenset[str]
    status: str
    decision: str | None
    answer: str | None
    created_at: int
    answered_at: int | None
    has_original: bool

    @property
    def status_vi(self) -> str:
        """The status in Vietnamese."""
        return rules.STATUS_VI.get(self.status, self.status)


_COLUMNS = (
    "id, user_id, chat_id, user_name, article_id, text_masked, masked_kinds, status, decision,"
    " answer, created_at, answered_at, text_original IS NOT NULL"
)


def _comment(r: aiosqlite.Row) -> Comment:
    kinds = frozenset(k for k in (r[6] or "").split(",") if k)
    return Comment(
        r[0], r[1], r[2], r[3], r[4], r[5], kinds, r[7], r[8], r[9], r[10], r[11], bool(r[12])
    )


async def _one(conn: aiosqlite.Connection, comment_id: int) -> Comment:
    async with conn.execute(f"SELECT {_COLUMNS} FROM comments WHERE id = ?", (comment_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"Không tìm thấy ý kiến #{comment_id}.")
    return _comment(row)


# --------------------------------------------------------------------------- citizens


async def is_banned(db: Database, user_id: int) -> bool:
    """True when the user may not send comments."""
    return bool(await db.fetch_value("SELECT 1 FROM bans WHERE user_id = ?", (user_id,)))


# The user's comment times since :since, as "t1,t2,…": read by the checks, and compared
# by the insert (same expression, same index, same order) to know nothing changed.
_RECENT = (
    "(SELECT group_concat(created_at) FROM comments WHERE user_id = :user AND created_at > :since)"
)


def _sender_sql(limits: bool) -> str:
    """One statement for every check (atomic by itself: no snapshot needed)."""
    recent = _RECENT if limits else "NULL"
    return (
        "SELECT EXISTS (SELECT 1 FROM bans WHERE user_id = :user),"
        " (SELECT id FROM comments WHERE user_id = :user AND dup_key = :key"
        " AND status != 'deleted' ORDER BY id LIMIT 1),"
        f" {recent}"
    )


_SENDER_SQL = {limits: _sender_sql(limits) for limits in (False, True)}


def _sender_row(row: Any) -> rules.Sender:
    recent = tuple(int(t) for t in row[2].split(",")) if row[2] else ()
    return rules.Sender(bool(row[0]), None if row[1] is None else int(row[1]), recent)


def _sender_params(user_id: int, dup_key: str, now: int) -> dict[str, Any]:
    return {"user": user_id, "key": dup_key, "since": now - 86400}


async def sender(
    db: Database, user_id: int, dup_key: str, *, now: int, limits: bool = True
) -> rules.Sender:
    """The user's ban, an identical earlier comment and their last 24 hours' comment times.

    One SELECT (one round trip to the database thread); `limits=False` skips the times.
    """
    row = await db.fetch_one(_SENDER_SQL[limits], _sender_params(user_id, dup_key, now))
    assert row is not None
    return _sender_row(row)


async def precheck(
    db: Database,
    user_id: int,
    text: str,
    *,
    now: int,
    per_hour: int,
    per_day: int,
    tz: tzinfo,
) -> None:
    """Raise FeedbackRefused (ban, duplicate, limit) before the user confirms."""
    facts = await sender(
        db, user_id, await dup_key(db, text), now=now, limits=per_hour > 0 or per_day > 0
    )
    rules.check_sender(facts, now, per_hour, per_day, tz)


_SECRET = "feedback.dup_key"  # db.memo key: the database's duplicate-key secret


async def dup_key(db: Database, text: str) -> str:
    """The duplicate key of a comment text: keyed with this database's own secret.

    The secret is written once by migration 006 and never changes, so it is read once
    per connection (db.memo) instead of once per comment (issue 17).
    """
    secret = db.memo.get(_SECRET)
    if secret is None:
        value = await db.fetch_value("SELECT value FROM secrets WHERE name = 'dup_key'")
        secret = db.memo[_SECRET] = bytes(value) if value is not None else b""
    return rules.duplicate_key(text, secret)


_INSERT_COLUMNS = (
    "user_id, chat_id, user_name, article_id, text_masked, text_original, masked_kinds,"
    " dup_key, created_at, category, unit, photo_file_id, photo_caption, allow_publish,"
    " follow_up_of, due_date"
)
_INSERT_VALUES = (
    ":user, :chat, :name, :article, :masked, :original, :kinds, :key, :now, :category,"
    " :unit, :photo, :caption, :publish, :follow_up, :due"
)


def _insert_sql(limits: bool) -> str:
    """INSERT … RETURNING that stores the comment only if the checks' facts still hold:
    no ban, no identical comment and (with limits) the same comment times since :since
    as the checks saw. One statement: atomic by itself, one round trip, no BEGIN/COMMIT."""
    recent = f" AND {_RECENT} IS :recent" if limits else ""
    return (
        f"INSERT INTO comments ({_INSERT_COLUMNS}) SELECT {_INSERT_VALUES}"
        " WHERE NOT EXISTS (SELECT 1 FROM bans WHERE user_id = :user)"
        " AND NOT EXISTS (SELECT 1 FROM comments WHERE user_id = :user AND dup_key = :key"
        f" AND status != 'deleted'){recent}"
        f" RETURNING {_COLUMNS}"
    )


_INSERT_SQL = {limits: _insert_sql(limits) for limits in (False, True)}


def _recent_text(recent: tuple[int, ...]) -> str | None:
    """The times as _RECENT gives them (None for none)."""
    return ",".join(map(str, recent)) if recent else None


async def submit(
    db: Database,
    *,
    user_id: int,
    chat_id: int,
    user_name: str | None,
    article_id: str | None,
    text: str,
    keep_original: bool,
    now: int,
    per_hour: int,
    per_day: int,
    tz: tzinfo,
    intake: Intake | None = None,
    checked: tuple[int, tuple[int, ...]] | None = None,
) -> Comment:
    """Check ban, duplicate and limits and store the comment atomically.

    `intake`: the case's category, place, photo, consent, follow-up link and due day
    (issue 15; default: category "khác", due day computed later). `checked`: (when,
    comment times of the last 24 hours) of the checks already passed by this text —
    the preview's (rules.Sender.recent, read with limits on or off as now).

    One round trip to the database thread when `checked` still holds, two without it
    (issue 17; five before): the checks' facts (one SELECT, judged by
    rules.check_sender), then one INSERT … SELECT … WHERE the same facts still hold
    (no ban, no identical comment, the same comment times), RETURNING the stored row —
    one statement is its own transaction, so nothing slips in between its checks and its
    write. If the facts changed meanwhile (another chat of the same user, a ban), the
    checks and the insert run again inside one BEGIN IMMEDIATE transaction. The comment
    is durable when this returns.
    """
    masked = rules.mask(text)
    key = await dup_key(db, text)
    limits = per_hour > 0 or per_day > 0
    case = intake or Intake()
    params = _sender_params(user_id, key, now)
    if checked is not None:
        # The preview's facts: no ban, no duplicate (it passed), its comment times.
        params["since"] = checked[0] - 86400
        facts = rules.Sender(False, None, checked[1] if limits else ())
    else:
        row = await db.fetch_one(_SENDER_SQL[limits], params)
        assert row is not None
        facts = _sender_row(row)
    rules.check_sender(facts, now, per_hour, per_day, tz)
    values = {
        **params,
        "recent": _recent_text(facts.recent),
        "chat": chat_id,
        "name": nfc(user_name) if user_name is not None else None,
        "article": article_id,
        "masked": masked.text,
        "original": text if keep_original else None,
        "kinds": ",".join(sorted(masked.kinds)),
        "now": now,
        "category": case.category,
        "unit": case.unit,
        "photo": case.photo_file_id,
        "caption": case.photo_caption,
        "publish": int(case.allow_publish),
        "follow_up": case.follow_up_of,
        "due": case.due.isoformat() if case.due else None,
    }
    stored = await db.fetch_all(_INSERT_SQL[limits], values)
    if stored:
        return _comment(stored[0])
    fresh = _sender_params(user_id, key, now)
    async with db.transaction() as conn:  # the facts changed meanwhile: check again
        rows = await conn.execute_fetchall(_SENDER_SQL[limits], fresh)
        facts = _sender_row(next(iter(rows)))
        rules.check_sender(facts, now, per_hour, per_day, tz)
        rows = await conn.execute_fetchall(
            _INSERT_SQL[limits], {**values, **fresh, "recent": _recent_text(facts.recent)}
        )
        return _comment(next(iter(rows)))


async def get_many(db: Database, comment_ids: Sequence[int]) -> list[Comment]:
    """The comments of `comment_ids` that exist, in id order (one SELECT)."""
    if not comment_ids:
        return []
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM comments WHERE id IN ({','.join('?' for _ in comment_ids)})"
        " ORDER BY id",
        list(comment_ids),
    )
    return [_comment(r) for r in rows]


async def get(db: Database, comment_id: int) -> Comment:
    """One comment; NotFound if absent."""
    row = await db.fetch_one(f"SELECT {_COLUMNS} FROM comments WHERE id = ?", (comment_id,))
    if row is None:
        raise NotFound(f"Không tìm thấy ý kiến #{comment_id}.")
    return _comment(row)


async def of_user(db: Database, user_id: int, limit: int = 20) -> list[Comment]:
    """The user's own comments, newest first."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM comments WHERE user_id = ? AND status != 'deleted'"
        " ORDER BY id DESC LIMIT ?",
        (user_id, limit),
    )
    return [_comment(r) for r in rows]


# Approved comments per article, kept in memory: every article card shows the count
# (one aiosqlite call per card open; issue 17). Every write here that can change a
# decision or a status (decide, set_answer, ban_sender) drops the whole map inside its
# transaction; counts are read through the bot's connection, whose lock keeps a read
# from falling between such a write and its commit, and a read that started before the
# drop fills the map it took, which is no longer the one in use.
_COUNTS = "approved_counts"
_COUNTS_MAX = 20_000


def _forget_counts(db: Database) -> None:
    db.memo.pop(_COUNTS, None)


async def approved_count(db: Database, article_id: str) -> int:
    """Approved comments of an article (answered ones included; rejected never)."""
    counts: dict[str, int] = db.memo.setdefault(_COUNTS, {})
    count = counts.get(article_id)
    if count is not None:
        return count
    value = await db.fetch_value(
        "SELECT COUNT(*) FROM comments WHERE article_id = ? AND decision = 'approved'"
        " AND status != 'deleted'",
        (article_id,),
    )
    count = int(value or 0)
    if len(counts) < _COUNTS_MAX:
        counts[article_id] = count
    return count


async def latest_approved(db: Database, article_id: str, limit: int = 5) -> list[Comment]:
    """The newest approved comments of an article."""
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM comments WHERE article_id = ? AND decision = 'approved'"
        " AND status != 'deleted' ORDER BY id DESC LIMIT ?",
        (article_id, limit),
    )
    return [_comment(r) for r in rows]


# --------------------------------------------------------------------------- moderators


async def pending(db: Database, offset: int = 0, limit: int = 5) -> tuple[list[Comment], int]:
    """Undecided comments, oldest first, one page; and how many there are in all."""
    async with db.snapshot() as conn:
        async with conn.execute("SELECT COUNT(*) FROM comments WHERE status = 'received'") as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0
        async with conn.execute(
            f"SELECT {_COLUMNS} FROM comments WHERE status = 'received'"
            " ORDER BY created_at, id LIMIT ? OFFSET ?",
            (limit, max(offset, 0)),
        ) as cur:
            rows = await cur.fetchall()
    return [_comment(r) for r in rows], total


async def decide(
    db: Database,
    comment_id: int,
    decision: str,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
) -> tuple[Comment, bool]:
    """Approve or reject (audited); returns the comment and whether anything changed."""
    assert decision in (rules.APPROVED, rules.REJECTED)
    async with db.transaction() as conn:
        before = await _one(conn, comment_id)
        if before.status == rules.DELETED:
            raise NotFound(f"Ý kiến #{comment_id} đã bị xóa.")
        if before.decision == decision:
            return before, False
        # An answered comment stays "answered"; the decision column carries the verdict.
        status = rules.ANSWERED if before.status == rules.ANSWERED else decision
        await conn.execute(
            "UPDATE comments SET decision = ?, status = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ?",
            (decision, status, actor_id, now, comment_id),
        )
        _forget_counts(db)
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action=f"feedback.{'approve' if decision == rules.APPROVED else 'reject'}",
            target=f"comment:{comment_id}",
            detail={"from": before.status},
        )
        return await _one(conn, comment_id), True


async def set_answer(
    db: Database,
    comment_id: int,
    answer: str,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
    answered_in: int | None = None,
) -> Comment:
    """Store the office's answer and mark the comment answered (audited).

    The answer is then pending delivery (answer_delivered_at NULL) until
    mark_answer_delivered / mark_answer_failed; `answered_in` is the chat to tell.
    """
    async with db.transaction() as conn:
        before = await _one(conn, comment_id)
        if before.status == rules.DELETED:
            raise NotFound(f"Ý kiến #{comment_id} đã bị xóa.")
        await conn.execute(
            "UPDATE comments SET answer = ?, answered_by = ?, answered_at = ?, status = ?,"
            " answered_in = ?, answer_delivered_at = NULL, answer_attempts = 0,"
            " answer_failed = NULL WHERE id = ?",
            (answer, actor_id, now, rules.ANSWERED, answered_in, comment_id),
        )
        _forget_counts(db)
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feedback.answer",
            target=f"comment:{comment_id}",
            detail={"from": before.status, "chars": len(answer)},
        )
        await cases.record_answered(conn, comment_id, actor_id=actor_id, now=now)
        return await _one(conn, comment_id)


@dataclass(frozen=True)
class PendingAnswer:
    """An answer still to be delivered to the citizen."""

    comment_id: int
    chat_id: int | None  # None: the citizen erased their data meanwhile
    text: str  # the masked comment
    answer: str
    answered_at: int
    answered_in: int | None
    attempts: int


async def pending_answer(db: Database, comment_id: int) -> PendingAnswer | None:
    """The comment's answer if it still waits for delivery (else None)."""
    row = await db.fetch_one(
        "SELECT id, chat_id, text_masked, answer, answered_at, answered_in, answer_attempts"
        " FROM comments WHERE id = ? AND answer IS NOT NULL AND answer_delivered_at IS NULL"
        " AND answer_failed IS NULL AND status != 'deleted'",
        (comment_id,),
    )
    if row is None:
        return None
    return PendingAnswer(int(row[0]), row[1], row[2], row[3], int(row[4] or 0), row[5], int(row[6]))


async def undelivered_answers(db: Database) -> list[int]:
    """Comments whose answer was stored but not yet delivered nor given up on."""
    rows = await db.fetch_all(
        "SELECT id FROM comments WHERE answer IS NOT NULL AND answer_delivered_at IS NULL"
        " AND answer_failed IS NULL AND status != 'deleted' ORDER BY id"
    )
    return [int(r[0]) for r in rows]


# The answer a delivery was about: a moderator may have replaced it meanwhile, and the
# outcome of delivering the old one must not be written on the new one.
_SAME_ANSWER = "id = :id AND answered_at = :at AND answer = :answer"


def _same(p: PendingAnswer) -> dict[str, Any]:
    return {"id": p.comment_id, "at": p.answered_at, "answer": p.answer}


async def mark_answer_delivered(db: Database, p: PendingAnswer, now: int) -> bool:
    """The answer reached the citizen (False: a newer answer replaced it meanwhile)."""
    changed = await db.execute(
        f"UPDATE comments SET answer_delivered_at = :now WHERE {_SAME_ANSWER}"
        " AND answer_delivered_at IS NULL",
        {**_same(p), "now": now},
    )
    return changed > 0


async def mark_answer_attempt(db: Database, p: PendingAnswer) -> int:
    """Count one more failed try of this answer; returns the new count."""
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE comments SET answer_attempts = answer_attempts + 1 WHERE {_SAME_ANSWER}",
            _same(p),
        )
        async with conn.execute(
            "SELECT answer_attempts FROM comments WHERE id = ?", (p.comment_id,)
        ) as cur:
            row = await cur.fetchone()
    return int(row[0]) if row else 0


async def mark_answer_failed(db: Database, p: PendingAnswer, reason: str) -> bool:
    """Give up delivering this answer (reason kept); False if it was replaced meanwhile."""
    changed = await db.execute(
        f"UPDATE comments SET answer_failed = :reason WHERE {_SAME_ANSWER}"
        " AND answer_delivered_at IS NULL",
        {**_same(p), "reason": reason[:200]},
    )
    return changed > 0


async def ban_sender(
    db: Database,
    comment_id: int,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
) -> tuple[Comment, bool]:
    """Ban the comment's sender and reject the comment if undecided (audited).

    Returns (comment, banned now); NotFound when the sender erased their data.
    The audit names the comment, not the user id, so it holds no personal data.
    """
    async with db.transaction() as conn:
        comment = await _one(conn, comment_id)
        if comment.user_id is None:
            raise NotFound("Người gửi ý kiến này đã xóa dữ liệu cá nhân; không thể chặn.")
        async with conn.execute(
            "INSERT INTO bans (user_id, banned_by, banned_at, comment_id) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (comment.user_id, actor_id, now, comment_id),
        ) as cur:
            banned = cur.rowcount > 0
        if comment.status == rules.RECEIVED:
            await conn.execute(
                "UPDATE comments SET decision = 'rejected', status = 'rejected',"
                " decided_by = ?, decided_at = ? WHERE id = ?",
                (actor_id, now, comment_id),
            )
            _forget_counts(db)
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feedback.ban",
            target=f"comment:{comment_id}",
            detail={"new_ban": banned},
        )
        return await _one(conn, comment_id), banned


async def unban_sender(
    db: Database, comment_id: int, *, actor_id: int, actor_role: str | None, now: int
) -> bool:
    """Lift the ban of the comment's sender (audited); True if a ban was lifted."""
    async with db.transaction() as conn:
        comment = await _one(conn, comment_id)
        if comment.user_id is None:
            return False
        async with conn.execute("DELETE FROM bans WHERE user_id = ?", (comment.user_id,)) as cur:
            lifted = cur.rowcount > 0
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feedback.unban",
            target=f"comment:{comment_id}",
            detail={"lifted": lifted},
        )
        return lifted


async def add_notice(db: Database, chat_id: int, message_id: int, comment_id: int) -> None:
    """Remember a message showing a comment to moderators (replies to it answer it)."""
    await db.execute(
        "INSERT OR REPLACE INTO comment_notices (chat_id, message_id, comment_id) VALUES (?,?,?)",
        (chat_id, message_id, comment_id),
    )


async def record_notified(
    db: Database, comment_ids: Sequence[int], notices: Sequence[tuple[int, int, int]], now: int
) -> None:
    """The notices shown, as (chat, message id, comment id), then notified_at of the
    comments they show: two statements for a whole batch of comments (two trips).

    Not one transaction, on purpose: the notices first, so a crash in between leaves
    comments unnotified (shown again at the next start, as a crash between sending and
    recording does), never notified with a notice a reply cannot be matched to."""
    if notices:
        await db.execute(
            "INSERT OR REPLACE INTO comment_notices (chat_id, message_id, comment_id)"
            " VALUES " + ",".join("(?,?,?)" for _ in notices),
            [v for notice in notices for v in notice],
        )
    if comment_ids:
        await db.execute(
            "UPDATE comments SET notified_at = ?"
            f" WHERE id IN ({','.join('?' for _ in comment_ids)})",
            [now, *comment_ids],
        )


async def comment_for_notice(db: Database, chat_id: int, message_id: int) -> int | None:
    """The comment a moderator message belongs to, or None."""
    value = await db.fetch_value(
        "SELECT comment_id FROM comment_notices WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    )
    return None if value is None else int(value)


async def notice_keys(db: Database) -> set[tuple[int, int]]:
    """Every (chat_id, message_id) of a notice, for the reply filter."""
    rows = await db.fetch_all("SELECT chat_id, message_id FROM comment_notices")
    return {(int(r[0]), int(r[1])) for r in rows}


async def unnotified(db: Database) -> list[int]:
    """Comments not yet shown to moderators (e.g. the bot stopped before it could)."""
    rows = await db.fetch_all("SELECT id FROM comments WHERE notified_at IS NULL ORDER BY id")
    return [int(r[0]) for r in rows]


async def mark_notified(db: Database, comment_id: int, now: int) -> None:
    """Moderators were shown this comment."""
    await db.execute("UPDATE comments SET notified_at = ? WHERE id = ?", (now, comment_id))


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportRow:
    """One comment as exported."""

    id: int
    created_at: int
    article_id: str | None
    status: str
    decision: str | None
    text: str
    answer: str | None


async def export_rows(db: Database, start: int, end: int, include_all: bool) -> list[ExportRow]:
    """Comments created in [start, end), oldest first; rejected/deleted only if include_all."""
    extra = (
        ""
        if include_all
        else (" AND status NOT IN ('rejected', 'deleted') AND COALESCE(decision, '') != 'rejected'")
    )
    rows = await db.fetch_all(
        "SELECT id, created_at, article_id, status, decision, text_masked, answer FROM comments"
        f" WHERE created_at >= ? AND created_at < ?{extra} ORDER BY created_at, id",
        (start, end),
    )
    return [ExportRow(*r) for r in rows]


def export_line(r: ExportRow, title: str | None, tz: tzinfo) -> list[str]:
    """One CSV row: number, local time, article, status, masked text, answer."""
    status = rules.STATUS_VI.get(r.status, r.status)
    if r.status == rules.ANSWERED and r.decision:
        status += f" ({rules.STATUS_VI[r.decision].lower()})"
    article = "" if not r.article_id else (f"{title} ({r.article_id})" if title else r.article_id)
    return [str(r.id), format_local(r.created_at, tz), article, status, r.text, r.answer or ""]


# --------------------------------------------------------------------------- /forgetme


async def forget_user(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """Anonymise the user's comments (ids, name, original text); the comments stay."""
    async with conn.execute(
        # A photo cannot be masked like the text: it goes too (casework, issue 15).
        "UPDATE comments SET user_id = NULL, chat_id = NULL, user_name = NULL,"
        " text_original = NULL, dup_key = '', photo_file_id = NULL"
        " WHERE user_id = ? OR chat_id = ?",
        (user_id, user_id),
    ) as cur:
        count = cur.rowcount
    # A staff member erasing themselves: their id leaves the comments they handled
    # (the audit log keeps who did what).
    await conn.execute("UPDATE comments SET decided_by = NULL WHERE decided_by = ?", (user_id,))
    await conn.execute("UPDATE comments SET answered_by = NULL WHERE answered_by = ?", (user_id,))
    # The private chat a moderator answered in is their user id.
    await conn.execute("UPDATE comments SET answered_in = NULL WHERE answered_in = ?", (user_id,))
    if not count:
        return []
    return [
        f"mã Telegram và tên của bạn trên {count} ý kiến đã gửi (nội dung đã che thông tin cá "
        "nhân vẫn được giữ ẩn danh để số liệu báo cáo đúng)"
    ]
