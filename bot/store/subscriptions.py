"""Subscribed chats (migration 003): topics, cadre approval and units, who an audience
reaches, a chat's eligibility at send time, group → supergroup migration, /forgetme."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, Recipient, parse_audience, parse_topics, receives
from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.rows import as_bool, as_int, as_str, opt_int, opt_str
from bot.store.staff import record_audit
from bot.store.units import canonical_audience

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


async def _resolve(conn: aiosqlite.Connection, audience: Audience) -> Audience:
    if audience.kind == "unit":  # old unit codes resolve to the current ones (issue 16)
        audience = parse_audience(await canonical_audience(conn, audience.key()))
    return audience


async def _recipients(conn: aiosqlite.Connection, audience: Audience) -> list[int]:
    audience = await _resolve(conn, audience)
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
    """How many chats the audience reaches right now.

    The same rule as _recipients (bot.domain.broadcasts.receives), applied once per
    distinct (approval, unit, topics) combination counted in SQL: the console's live count
    stays fast with 100,000 subscribers (bench/console.py).
    """
    async with db.snapshot() as conn:
        audience = await _resolve(conn, audience)
        async with conn.execute(
            "SELECT s.approval, s.unit, s.topics, COUNT(*) FROM subscriptions s"
            " JOIN chats c ON c.id = s.chat_id WHERE s.active = 1 AND c.active = 1"
            " GROUP BY s.approval, s.unit, s.topics"
        ) as cur:
            rows = await cur.fetchall()
    return sum(
        int(r[3])
        for r in rows
        if receives(Recipient(0, True, str(r[0]), r[1], parse_topics(str(r[2] or ""))), audience)
    )


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
    # Group rows keep who subscribed or decided them: the id goes (issue 10).
    async with conn.execute(
        "UPDATE subscriptions SET subscribed_by = NULL WHERE subscribed_by = ?", (user_id,)
    ) as cur:
        if cur.rowcount:
            erased.append(f"mã Telegram của bạn trên {cur.rowcount} nhóm bạn đã đăng ký nhận tin")
    await conn.execute(
        "UPDATE subscriptions SET decided_by = NULL WHERE decided_by = ?", (user_id,)
    )
    # A staff member erasing themselves: their id leaves broadcasts and operations (the
    # audit log keeps who did what; their drafts become the admins').
    for column in ("created_by", "approved_by", "cancelled_by"):
        sql = f"UPDATE broadcasts SET {column} = NULL WHERE {column} = ?"  # fixed names
        await conn.execute(sql, (user_id,))
    await conn.execute(
        "UPDATE broadcast_actions SET requested_by = NULL WHERE requested_by = ?", (user_id,)
    )
    return erased
