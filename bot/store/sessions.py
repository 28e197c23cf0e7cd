"""Outreach session reports as stored (migration 009): create, correct, delete, totals for
a period, units that reported nothing, the quarter-end reminder record, /forgetme."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import aiosqlite

from bot.domain import sessions as rules
from bot.domain.errors import InvalidInput, NotFound
from bot.store.db import Database
from bot.store.rows import as_int, as_str, opt_int, opt_str
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Report:
    """A session report as stored (with its unit's current name)."""

    id: int
    unit_id: int
    unit_name: str
    held_on: date
    topics: tuple[str, ...]
    format: str
    listeners: int
    note: str | None
    reporter_id: int | None
    created_at: int
    deleted_at: int | None


_SELECT = (
    "SELECT r.id, r.unit_id, u.name, r.held_on, r.topics, r.format, r.listeners, r.note,"
    " r.reporter_id, r.created_at, r.deleted_at FROM session_reports r"
    " JOIN units u ON u.id = r.unit_id"
)


def _report(r: aiosqlite.Row) -> Report:
    return Report(
        as_int(r[0]),
        as_int(r[1]),
        as_str(r[2]),
        date.fromisoformat(str(r[3])),
        tuple(json.loads(str(r[4]))),
        as_str(r[5]),
        as_int(r[6]),
        opt_str(r[7]),
        opt_int(r[8]),
        as_int(r[9]),
        opt_int(r[10]),
    )


async def save_report(
    db: Database,
    *,
    unit_id: int,
    held_on: date,
    topics: Sequence[str],
    fmt: str,
    listeners: int,
    note: str | None,
    reporter_id: int | None,
    chat_id: int | None,
    now: int,
    report_id: int | None = None,
) -> int:
    """Store a new report, or replace the fields of `report_id` (a correction); audited."""
    if fmt not in rules.FORMATS:
        raise InvalidInput("Hình thức không hợp lệ.")
    if not topics:
        raise InvalidInput("Chọn ít nhất một nội dung tuyên truyền.")
    values = (
        unit_id,
        held_on.isoformat(),
        json.dumps(list(topics), ensure_ascii=False),
        fmt,
        listeners,
        note,
    )
    async with db.transaction() as conn:
        if report_id is None:
            async with conn.execute(
                "INSERT INTO session_reports (unit_id, held_on, topics, format, listeners, note,"
                " reporter_id, chat_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, reporter_id, chat_id, now, now),
            ) as cur:
                rid = int(cur.lastrowid or 0)
            action = "session_report"
        else:
            async with conn.execute(
                "UPDATE session_reports SET unit_id = ?, held_on = ?, topics = ?, format = ?,"
                " listeners = ?, note = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                (*values, now, report_id),
            ) as cur:
                if not cur.rowcount:
                    raise NotFound(f"Báo cáo #{report_id} không còn.")
            rid = report_id
            action = "session_report_edit"
        await record_audit(
            conn,
            at=now,
            actor_id=reporter_id,
            actor_role=None,
            action=action,
            target=rid,
            detail={"unit": unit_id, "listeners": listeners},
        )
    return rid


async def get_report(db: Database, report_id: int) -> Report:
    """A report (deleted ones too) or NotFound."""
    row = await db.fetch_one(_SELECT + " WHERE r.id = ?", (report_id,))
    if row is None:
        raise NotFound(f"Không có báo cáo #{report_id}.")
    return _report(row)


async def delete_report(db: Database, report_id: int, *, actor_id: int | None, now: int) -> None:
    """Mark a report deleted (kept for the audit trail, left out of every total)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE session_reports SET deleted_at = ?, deleted_by = ?"
            " WHERE id = ? AND deleted_at IS NULL",
            (now, actor_id, report_id),
        ) as cur:
            if not cur.rowcount:
                raise NotFound(f"Báo cáo #{report_id} đã xóa hoặc không có.")
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=None,
            action="session_report_delete",
            target=report_id,
        )


async def reports_of(db: Database, reporter_id: int, limit: int = 10) -> list[Report]:
    """A reporter's latest reports (not deleted), newest first."""
    rows = await db.fetch_all(
        _SELECT + " WHERE r.reporter_id = ? AND r.deleted_at IS NULL ORDER BY r.id DESC LIMIT ?",
        (reporter_id, limit),
    )
    return [_report(r) for r in rows]


async def reports_between(db: Database, first: date, end: date) -> list[Report]:
    """Reports of sessions held in [first, end), not deleted."""
    rows = await db.fetch_all(
        _SELECT + " WHERE r.deleted_at IS NULL AND r.held_on >= ? AND r.held_on < ?"
        " ORDER BY r.held_on, r.id",
        (first.isoformat(), end.isoformat()),
    )
    return [_report(r) for r in rows]


def _lines(acc: dict[str, list[int]]) -> tuple[rules.Line, ...]:
    ordered = sorted(acc.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    return tuple(rules.Line(k, v[0], v[1]) for k, v in ordered)


async def totals(db: Database, first: date, end: date, label: str) -> rules.Totals:
    """Totals of the sessions held in [first, end) by unit, topic and format."""
    reports = await reports_between(db, first, end)
    by_unit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_topic: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_format: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in reports:
        for acc, key in ((by_unit, r.unit_name), (by_format, rules.FORMATS[r.format])):
            acc[key][0] += 1
            acc[key][1] += r.listeners
        for topic in r.topics:
            by_topic[topic][0] += 1
            by_topic[topic][1] += r.listeners
    return rules.Totals(
        label,
        len(reports),
        sum(r.listeners for r in reports),
        len({r.unit_id for r in reports}),
        _lines(by_unit),
        _lines(by_topic),
        _lines(by_format),
    )


async def silent_units(
    db: Database, first: date, end: date, quarter: str
) -> list[tuple[int, str, str]]:
    """(unit id, code, name) of current units with an approved cadre group, no report of a
    session held in [first, end) and no reminder yet for `quarter`."""
    rows = await db.fetch_all(
        "SELECT u.id, u.code, u.name FROM units u WHERE u.merged_into IS NULL"
        " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.unit = u.code"
        "  AND s.approval = 'approved' AND s.active = 1)"
        " AND NOT EXISTS (SELECT 1 FROM session_reports r WHERE r.unit_id = u.id"
        "  AND r.deleted_at IS NULL AND r.held_on >= ? AND r.held_on < ?)"
        " AND NOT EXISTS (SELECT 1 FROM unit_report_reminders m WHERE m.unit_id = u.id"
        "  AND m.quarter = ?) ORDER BY u.name",
        (first.isoformat(), end.isoformat(), quarter),
    )
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


async def claim_reminder(db: Database, unit_id: int, quarter: str, now: int) -> bool:
    """Record the quarter's one reminder for a unit; False if it was already sent."""
    changed = await db.execute(
        "INSERT OR IGNORE INTO unit_report_reminders (unit_id, quarter, sent_at) VALUES (?, ?, ?)",
        (unit_id, quarter, now),
    )
    return changed > 0


async def forget_reporter(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """/forgetme: the reporter's id leaves their reports; the sessions stay counted."""
    async with conn.execute(
        "UPDATE session_reports SET reporter_id = NULL WHERE reporter_id = ?", (user_id,)
    ) as cur:
        n = cur.rowcount
    await conn.execute(
        "UPDATE session_reports SET deleted_by = NULL WHERE deleted_by = ?", (user_id,)
    )
    return (
        [f"Đã xóa tên bạn khỏi {n} báo cáo buổi tuyên truyền (số liệu vẫn được giữ)."] if n else []
    )
