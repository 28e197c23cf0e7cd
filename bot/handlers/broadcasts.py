"""The broadcasts feature's registration: the dispatcher worker, subscriptions,
announcements (bot.handlers.announcements), directives and acks
(bot.handlers.directives), in one ordered list of handlers and commands.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.actions.broadcast_guard import hold_if_authority_lapsed
from bot.actions.directives import (
    AutoCheck,
    refresh_auto_directive,
    reload_directives,
    schedule_directives,
)
from bot.domain import clock
from bot.handlers import subscriptions
from bot.handlers.announcements import (
    FEATURE,
    announce_command,
    announce_text,
    approve_button,
    ask_approval,
    audience_button,
    discard_button,
    schedule_button,
    schedule_text,
    send_now_button,
)
from bot.handlers.dialogs import InDialog
from bot.handlers.directives import (
    ack_button,
    acks_command,
    chidao_command,
    directive_command,
    remind_button,
)
from bot.handlers.sent_broadcasts import (
    broadcast_command,
    broadcasts_command,
    delete_button,
    edit_button,
    edit_confirm_button,
    edit_text,
    retry_button,
    stop_button,
)
from bot.services import CommandInfo, Services
from bot.store import drafts
from bot.workers.dispatcher import Dispatcher

log = logging.getLogger(__name__)


# --- registration ------------------------------------------------------------------------------


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Subscriptions, announcements, directives, acks and the dispatcher."""
    settings = svc.settings
    dispatcher = Dispatcher(
        svc.db,
        concurrency=settings.dispatcher_concurrency,
        max_attempts=settings.dispatcher_max_attempts,
        batch_size=settings.dispatcher_batch,
        progress_interval=settings.progress_interval,
        tz=settings.tz,
    )
    svc.features["dispatcher"] = dispatcher
    svc.features.setdefault("heartbeats", {})["broadcasts"] = lambda: dispatcher.heartbeat

    async def refresh(b: drafts.Broadcast) -> AutoCheck:
        return await refresh_auto_directive(svc, b)

    dispatcher.refresh_auto = refresh

    async def hold_lapsed(b: drafts.Broadcast) -> bool:
        notice = await hold_if_authority_lapsed(svc, b, clock.now())
        if notice is None:
            return False
        reached = await ask_approval(dispatcher.bot, svc, b, notice + "\n\n🔐 Đề nghị duyệt lại:")
        if not reached:
            log.warning("broadcast %s held; no admin could be told", b.id)
        return True

    dispatcher.hold_lapsed = hold_lapsed
    svc.features.setdefault("reload_hooks", []).append(reload_directives)

    async def start(app: Any) -> None:
        try:
            await schedule_directives(svc)
        except Exception:  # a broken directive must never stop the bot from starting
            log.exception("scheduling directive files failed; the bot starts anyway")
        await dispatcher.start(app)

    svc.starters.append(start)
    svc.stoppers.append(dispatcher.stop)

    svc.commands.extend(
        [
            CommandInfo("chidao", "Chỉ đạo của quý này (nhóm cán bộ)", chats="groups"),
            CommandInfo(
                "thongbao",
                "Soạn thông báo gửi người đăng ký",
                aliases=("announce",),
                permission="broadcast",
            ),
            CommandInfo(
                "guichidao",
                "Gửi chỉ đạo quý: /guichidao 2022-Q2",
                aliases=("directive",),
                permission="broadcast",
            ),
            CommandInfo(
                "bantin", "Các bản tin gần đây", aliases=("broadcasts",), permission="broadcast"
            ),
            CommandInfo(
                "xembantin",
                "Chi tiết một bản tin: /xembantin <số>",
                aliases=("broadcast",),
                permission="broadcast",
            ),
            CommandInfo(
                "xacnhan",
                "Nhóm chưa xác nhận chỉ đạo: /xacnhan <số>",
                aliases=("acks",),
                permission="broadcast",
            ),
            CommandInfo("huy", "Hủy thao tác đang làm", aliases=("cancel",), in_menu=False),
        ]
    )
    # Steps of the broadcast dialogs (bot.handlers.dialogs): in groups only replies to
    # the bot's prompt count; /cancel and the timeout are the dialogs' own.
    registry = svc.features["dialogs"]
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text & InDialog(registry, FEATURE, "text"), announce_text))
    app.add_handler(MessageHandler(text & InDialog(registry, FEATURE, "when"), schedule_text))
    app.add_handler(MessageHandler(text & InDialog(registry, FEATURE, "edit"), edit_text))
    app.add_handler(CommandHandler(["thongbao", "announce"], announce_command))
    subscriptions.register(app, svc, start_payloads)
    _register_rest(app)


def _register_rest(app: Any) -> None:
    # Buttons carry bc:<action>:<id>:<version>; without a version they are refused
    # as stale by bot.actions.broadcast_guard.check_version.
    app.add_handler(CommandHandler(["bantin", "broadcasts"], broadcasts_command))
    app.add_handler(CommandHandler(["xembantin", "broadcast"], broadcast_command))
    app.add_handler(CommandHandler(["guichidao", "directive"], directive_command))
    app.add_handler(CommandHandler("chidao", chidao_command))
    app.add_handler(CommandHandler(["xacnhan", "acks"], acks_command))
    app.add_handler(CallbackQueryHandler(audience_button, pattern=r"^bc:a:\d+:"))
    app.add_handler(CallbackQueryHandler(send_now_button, pattern=r"^bc:go:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(schedule_button, pattern=r"^bc:at:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(discard_button, pattern=r"^bc:x:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(approve_button, pattern=r"^bc:(ok|no):\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(stop_button, pattern=r"^bc:stop:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(retry_button, pattern=r"^bc:retry:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(edit_button, pattern=r"^bc:edit:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(edit_confirm_button, pattern=r"^bc:e[cn]:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(delete_button, pattern=r"^bc:del:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(remind_button, pattern=r"^bc:remind:\d+(:|$)"))
    app.add_handler(CallbackQueryHandler(ack_button, pattern=r"^ack:\d+$"))
