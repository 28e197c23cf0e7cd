"""/tonghop: outreach sessions and listeners by unit, topic and format for staff, with an
.xlsx export (the reports come from /baocao, bot.handlers.sessions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain import sessions as rules
from bot.domain import spreadsheets
from bot.domain.periods import date_range, parse_period, quarter_of
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import Services
from bot.store import sessions as store


def _today(svc: Services) -> date:
    return datetime.now(svc.settings.tz).date()


@requires("staff")
@user_errors
async def totals_command(update: Update, context: Context) -> None:
    """/tonghop [kỳ]: sessions and listeners by unit, topic and format, with an export."""
    svc = services(context)
    period = parse_period(command_text(update), _today(svc))
    t = await store.totals(svc.db, period.start, period.end, period.label)
    span = f"{period.start:%Y%m%d}:{period.end:%Y%m%d}"
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("⬇️ Excel", callback_data=f"th:xl:{span}")]]
    )
    await reply(update, rules.totals_html(t), reply_markup=keyboard if t.sessions else None)


@requires("staff")
@user_errors
async def totals_export_button(update: Update, context: Context) -> None:
    """[Excel] under the totals."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, first, end = query.data.split(":")
    start_day = datetime.strptime(first, "%Y%m%d").date()
    end_day = datetime.strptime(end, "%Y%m%d").date()
    period = quarter_of(start_day)
    if (period.start, period.end) != (start_day, end_day):
        period = date_range(start_day, end_day - timedelta(days=1))
    t = await store.totals(svc.db, period.start, period.end, period.label)
    await answer_query(update)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        document=spreadsheets.render(rules.totals_table(t), "xlsx", tz=svc.settings.tz),
        filename=f"tuyen-truyen-{period.key}.xlsx",
        caption=f"📋 Tuyên truyền {period.label}.",
    )
