"""Outreach rules that need the store (issue 16), shared by Telegram handlers, workers,
the CLI and the console: who may report a session for a unit, who may change a report,
and whether reminders may go out now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.actions.casework import office_hours_of, policy_of
from bot.config import Settings
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


def in_office_hours(ts: float, settings: Settings) -> bool:
    """Within LOA_OFFICE_HOURS on a working day (casework's calendar: weekends, public
    holidays and the office's own days off excluded): reminders never go out at night."""
    calendar = policy_of(settings).calendar
    return office_hours_of(settings).contains(datetime.fromtimestamp(ts, settings.tz), calendar)
