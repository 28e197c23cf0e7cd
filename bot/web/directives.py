"""Chỉ đạo: directives, the acknowledgement board by unit (who, when, who not), remind
the missing (bot.actions.directives.remind_missing, as [Nhắc lại]), export."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.actions.broadcasts import wake_dispatcher
from bot.actions.directives import remind_missing
from bot.domain import broadcasts as rules
from bot.domain.spreadsheets import Table
from bot.store import console as views
from bot.store import drafts
from bot.web.server import Call, Route, export_table, ok

PAGE = 20
ACK_PAGE = 100


async def page(call: Call) -> web.StreamResponse:
    """Directives, newest first, with their acknowledgement counts."""
    offset = call.int_query("offset")
    lines, total = await views.broadcasts_page(call.db, kind="directive", limit=PAGE, offset=offset)
    boards = {line.id: await views.ack_board(call.db, line.id) for line in lines}
    return call.render(
        "directives.html",
        lines=lines,
        boards=boards,
        total=total,
        offset=offset,
        page_size=PAGE,
        labels=rules.BROADCAST_LABELS_VI,
    )


async def detail(call: Call) -> web.StreamResponse:
    """One directive: the board by unit and every chat with its acknowledgement."""
    b = await drafts.get_broadcast(call.db, call.int_param("id"))
    missing = call.query("missing") == "1"
    offset = call.int_query("offset")
    board = await views.ack_board(call.db, b.id)
    lines, total = await views.ack_lines(
        call.db, b.id, missing_only=missing, limit=ACK_PAGE, offset=offset
    )
    return call.render(
        "directive.html",
        b=b,
        board=board,
        lines=lines,
        total=total,
        offset=offset,
        page_size=ACK_PAGE,
        missing=missing,
    )


async def remind(call: Call) -> web.StreamResponse:
    """[Nhắc lại] to the chats that have not acknowledged."""
    reminder = await remind_missing(
        call.svc, call.int_param("id"), actor_id=call.user_id, report_chat_id=None
    )
    wake_dispatcher(call.svc)
    return ok(f"Đã gửi nhắc lại tới {reminder.total} nhóm.")


async def export(call: Call) -> web.StreamResponse:
    """The acknowledgement list (every chat, or only the missing) as .xlsx or CSV."""
    b = await drafts.get_broadcast(call.db, call.int_param("id"))
    lines, _total = await views.ack_lines(
        call.db, b.id, missing_only=call.query("missing") == "1", limit=10**9
    )
    tz = call.svc.settings.tz
    table = Table(
        ["Mã nhóm", "Tên nhóm", "Đơn vị", "Xác nhận lúc", "Người xác nhận"],
        [
            [
                line.chat_id,
                line.title or "",
                line.unit or "",
                datetime.fromtimestamp(line.acked_at, tz) if line.acked_at else None,
                line.acked_by or "",
            ]
            for line in lines
        ],
        sheet=f"Chỉ đạo {b.id}",
    )
    return await export_table(call, table, f"chi-dao-{b.id}-xac-nhan")


ROUTES = [
    Route("GET", "/ui/directives", page, "broadcast"),
    Route("GET", "/ui/directives/{id}", detail, "broadcast"),
    Route("POST", "/api/directives/{id}/remind", remind, "admin"),  # as [Nhắc lại]
    Route("GET", "/api/directives/{id}/acks", export, "broadcast"),
]
