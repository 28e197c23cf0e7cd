"""Directive follow-up (issue 16): directives due for an automatic reminder, and the
acknowledgement report by unit. Reads the broadcasts tables (migration 003)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.db import Database
from bot.store.drafts import _B_COLUMNS, Broadcast, _broadcast


async def due_for_reminder(
    db: Database, now: float, *, delay_seconds: float, max_reminders: int
) -> list[Broadcast]:
    """Finished directives with a sent, unacknowledged delivery, fewer than `max_reminders`
    reminders (any, manual ones too), and `delay_seconds` passed since the directive or
    its last reminder went out."""
    if max_reminders <= 0:
        return []
    columns = ", ".join("b." + c.strip() for c in _B_COLUMNS.split(","))
    rows = await db.fetch_all(
        f"SELECT {columns} FROM broadcasts b WHERE b.kind = 'directive' AND b.with_ack = 1"
        " AND b.state = 'done' AND b.finished_at IS NOT NULL"
        " AND (SELECT COUNT(*) FROM broadcasts r WHERE r.kind = 'reminder'"
        "      AND r.parent_id = b.id) < ?"
        " AND MAX(b.finished_at, COALESCE((SELECT MAX(r.created_at) FROM broadcasts r"
        "      WHERE r.kind = 'reminder' AND r.parent_id = b.id), 0)) <= ?"
        " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.broadcast_id = b.id"
        "      AND d.state = 'sent' AND NOT EXISTS (SELECT 1 FROM acks a"
        "      WHERE a.broadcast_id = b.id AND a.chat_id = d.chat_id))"
        " AND NOT EXISTS (SELECT 1 FROM broadcasts r WHERE r.kind = 'reminder'"
        "      AND r.parent_id = b.id AND r.state IN ('queued', 'sending'))"
        " ORDER BY b.id",
        (max_reminders, now - delay_seconds),
    )
    return [_broadcast(r) for r in rows]


@dataclass(frozen=True)
class UnitAcks:
    """One unit's groups that received a directive and those that acknowledged it."""

    unit: str  # the unit's name ("" for groups without a unit)
    delivered: int
    acked: int
    missing: tuple[str, ...]  # titles of the groups that have not acknowledged


async def acks_by_unit(db: Database, broadcast_id: int) -> list[UnitAcks]:
    """Per unit (by name): groups the directive reached, and which acknowledged it (on the
    directive or one of its reminders; acks are recorded on the directive)."""
    rows = await db.fetch_all(
        "SELECT COALESCE(u.name, s.unit, ''), COALESCE(c.title, CAST(d.chat_id AS TEXT)),"
        " EXISTS (SELECT 1 FROM acks a WHERE a.broadcast_id = d.broadcast_id"
        "   AND a.chat_id = d.chat_id)"
        " FROM deliveries d LEFT JOIN chats c ON c.id = d.chat_id"
        " LEFT JOIN subscriptions s ON s.chat_id = d.chat_id"
        " LEFT JOIN unit_codes k ON k.code = s.unit LEFT JOIN units u ON u.id = k.unit_id"
        " WHERE d.broadcast_id = ? AND d.state = 'sent' ORDER BY 1, 2",
        (broadcast_id,),
    )
    by_unit: dict[str, list[tuple[str, bool]]] = {}
    for r in rows:
        by_unit.setdefault(str(r[0]), []).append((str(r[1]), bool(r[2])))
    return [
        UnitAcks(
            unit,
            len(groups),
            sum(1 for _, ok in groups if ok),
            tuple(title for title, ok in groups if not ok),
        )
        for unit, groups in by_unit.items()
    ]
