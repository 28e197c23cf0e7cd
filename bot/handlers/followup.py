"""Directive follow-up (issue 16): the automatic reminders worker and /xacnhan <id>, the
acknowledgement report by unit as .xlsx."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.domain import spreadsheets
from bot.domain.broadcasts import parse_id
from bot.domain.errors import InvalidInput
from bot.domain.stats import format_int
from bot.handlers.base import Context, command_text, requires, services, user_errors
from bot.services import CommandInfo, Services
from bot.store import drafts, followup
from bot.workers.dispatcher import Dispatcher
from bot.workers.reminders import Reminders

USAGE = "Cú pháp: /xacnhan &lt;số chỉ đạo&gt;, ví dụ /xacnhan 12 (xem /broadcasts)."


def ack_table(rows: list[followup.UnitAcks]) -> spreadsheets.Table:
    """Per unit: groups reached, acknowledged, the rate and who is missing."""
    return spreadsheets.Table(
        ["Đơn vị", "Số nhóm nhận", "Đã xác nhận", "Tỉ lệ", "Nhóm chưa xác nhận"],
        [
            [
                r.unit or "(chưa gán đơn vị)",
                r.delivered,
                r.acked,
                r.acked / r.delivered if r.delivered else None,
                "; ".join(r.missing),
            ]
            for r in rows
        ],
        sheet="Xác nhận",
    )


@requires("broadcast")
@user_errors
async def ack_report_command(update: Update, context: Context) -> None:
    """/xacnhan <id>: the directive's acknowledgements by unit, as .xlsx."""
    svc = services(context)
    args = command_text(update).lstrip("#").split()
    if len(args) != 1:
        raise InvalidInput(USAGE)
    b = await drafts.get_broadcast(svc.db, parse_id(args[0]))
    if not b.with_ack or b.kind == "reminder":
        raise InvalidInput("Bản tin này không phải chỉ đạo có nút xác nhận.")
    rows = await followup.acks_by_unit(svc.db, b.id)
    chat = update.effective_chat
    assert chat is not None
    delivered = sum(r.delivered for r in rows)
    acked = sum(r.acked for r in rows)
    await context.bot.send_document(
        chat.id,
        document=spreadsheets.render(ack_table(rows), "xlsx", tz=svc.settings.tz),
        filename=f"xac-nhan-chi-dao-{b.id}.xlsx",
        caption=(
            f"✅ Chỉ đạo #{b.id}: {format_int(acked)}/{format_int(delivered)} nhóm đã xác nhận."
        ),
    )


def register(app: Any, svc: Services) -> None:
    """The reminders worker and /xacnhan."""
    dispatcher: Dispatcher = svc.features["dispatcher"]
    reminders = Reminders(svc, dispatcher.wake)
    svc.features["reminders"] = reminders
    svc.starters.append(reminders.start)
    svc.stoppers.append(reminders.stop)
    svc.commands.append(
        CommandInfo(
            "xacnhan",
            "Báo cáo xác nhận chỉ đạo theo đơn vị (.xlsx): /xacnhan <số>",
            aliases=("ackreport",),
            permission="broadcast",
        )
    )
    app.add_handler(CommandHandler(["xacnhan", "ackreport"], ack_report_command))
