"""Casework operations shared by Telegram handlers, the reminder worker, the CLI and the
web console (issue 15): the office's policy from settings, role-checked state changes,
claims and assignments, and the quarterly figures and exports.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from bot.config import Settings
from bot.domain import casework as rules
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.periods import Period
from bot.domain.spreadsheets import Format, render
from bot.domain.workdays import OfficeHours, WorkCalendar, parse_office_hours
from bot.services import Services
from bot.store import cases, reports
from bot.store.db import Database


def policy_of(settings: Settings) -> rules.CasePolicy:
    """The casework policy (categories, deadlines, calendar) from the settings."""
    return rules.CasePolicy(
        categories=settings.feedback_categories,
        default_days=settings.feedback_deadline_days,
        category_days=rules.parse_category_days(
            settings.feedback_category_deadlines, settings.feedback_categories
        ),
        calendar=WorkCalendar(
            makeup_days=settings.makeup_workdays, extra_days_off=settings.extra_days_off
        ),
        tz=settings.tz,
        remind_days=settings.feedback_remind_days,
    )


def office_hours_of(settings: Settings) -> OfficeHours:
    """LOA_OFFICE_HOURS as OfficeHours."""
    return parse_office_hours(settings.office_hours)


def policy(svc: Services) -> rules.CasePolicy:
    """The running bot's policy (built once)."""
    found = svc.features.get("case_policy")
    if found is None:
        found = svc.features["case_policy"] = policy_of(svc.settings)
    return found


async def _role(svc: Services, actor_id: int, permission: str) -> str:
    role = await svc.role_of(actor_id)
    if role is None or not await svc.may(actor_id, permission):
        raise PermissionDenied("⛔ Bạn không có quyền dùng chức năng này.")
    return str(role)


async def change_state(
    svc: Services, case_id: int, target: str, *, actor_id: int, now: int, note: str | None = None
) -> tuple[cases.Case, bool]:
    """A moderator moves a case (reopening a closed case is for admins)."""
    role = await _role(svc, actor_id, "moderate")
    if target == rules.IN_PROGRESS:
        current = await cases.get(svc.db, case_id)
        if current.state == rules.CLOSED and not await svc.may(actor_id, "admin"):
            raise PermissionDenied("Chỉ quản trị viên mới mở lại được ý kiến đã đóng.")
    return await cases.change_state(
        svc.db, case_id, target, actor_id=actor_id, actor_role=role, now=now, note=note
    )


async def claim(
    svc: Services, case_id: int, *, actor_id: int, now: int
) -> tuple[cases.Case, int | None]:
    """[Nhận xử lý] by a moderator; see cases.claim for the result."""
    role = await _role(svc, actor_id, "moderate")
    return await cases.claim(svc.db, case_id, actor_id=actor_id, actor_role=role, now=now)


async def assign(
    svc: Services, case_id: int, holder_id: int, *, actor_id: int, now: int
) -> cases.Case:
    """An admin gives a case to a moderator (who must hold the moderate right)."""
    role = await _role(svc, actor_id, "admin")
    if not await svc.may(holder_id, "moderate"):
        raise InvalidInput(
            f"Người dùng <code>{holder_id}</code> không phải kiểm duyệt viên hay quản trị viên."
        )
    return await cases.assign(
        svc.db, case_id, holder_id, actor_id=actor_id, actor_role=role, now=now
    )


async def figures(
    db: Database, period: Period, policy: rules.CasePolicy, today: date
) -> tuple[list[rules.CaseFigures], list[rules.CaseFigures], rules.CaseFigures | None]:
    """The quarter's figures by category, by unit, and the total (None: no cases)."""
    start, end = period.bounds(policy.tz)
    facts = await cases.facts(db, start, end, policy)
    if not facts:
        return [], [], None
    by_category = rules.figures(facts, policy.calendar, today, by="category")
    by_unit = rules.figures(facts, policy.calendar, today, by="unit")
    total = rules.figures(facts, policy.calendar, today, by="total")[0]
    return by_category, by_unit, total


async def export(db: Database, period: Period, policy: rules.CasePolicy, fmt: Format) -> bytes:
    """The period's cases as .xlsx or CSV (masked texts, staff names, no citizen data)."""
    start, end = period.bounds(policy.tz)
    holders = await db.fetch_all(
        "SELECT DISTINCT holder_id FROM comments WHERE holder_id IS NOT NULL"
    )
    names = await reports.user_names(db, [int(r[0]) for r in holders])
    rows = await cases.export_cases(db, start, end, policy, names)
    today = datetime.now(policy.tz).date()
    table = rules.export_table(rows, policy.calendar, today)
    # openpyxl needs ~1.5 ms per row (bench/casework.py): off the event loop, so the bot
    # keeps answering while a big quarter is written.
    return await asyncio.to_thread(render, table, fmt, tz=policy.tz)
