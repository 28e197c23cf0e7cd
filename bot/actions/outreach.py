"""Outreach rules that need the store (issue 16), shared by Telegram handlers, workers,
the CLI and the console: who may report a session for a unit, who may change a report,
when directive reminders are due, and the office hours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, tzinfo

from bot.domain import sessions as rules
from bot.services import Services
from bot.store import sessions, units

IsMember = Callable[[int], Awaitable[bool]]


async def may_report(
    svc: Services, user_id: int | None, unit_code: str, is_member: IsMember
) -> bool:
    """Staff, or a member of one of the unit's approved cadre groups (asked of Telegram
    through `is_member(chat_id)` at the moment of saving)."""
    if user_id is None:
        return False
    if await svc.may(user_id, "staff"):
        return True
    for chat_id in await units.unit_groups(svc.db, unit_code):
        if await is_member(chat_id):
            return True
    return False


async def may_change_report(
    svc: Services, user_id: int | None, report: sessions.Report, now: int
) -> bool:
    """The reporter within LOA_REPORT_EDIT_DAYS of reporting; staff always."""
    if user_id is None:
        return False
    return rules.may_change(
        is_staff=await svc.may(user_id, "staff"),
        is_reporter=report.reporter_id == user_id,
        created_at=report.created_at,
        now=now,
        edit_days=svc.settings.report_edit_days,
    )


def office_hours(spec: str) -> tuple[time, time]:
    """ "07:30-17:00" → (07:30, 17:00)."""
    start, _, end = spec.partition("-")
    h1, m1 = (int(x) for x in start.split(":"))
    h2, m2 = (int(x) for x in end.split(":"))
    return time(h1, m1), time(h2, m2)


def in_office_hours(ts: float, spec: str, tz: tzinfo) -> bool:
    """Monday to Friday, between the two times of LOA_OFFICE_HOURS (local time): reminders
    are never sent at night or at the weekend."""
    local = datetime.fromtimestamp(ts, tz)
    start, end = office_hours(spec)
    return local.weekday() < 5 and start <= local.time() < end
