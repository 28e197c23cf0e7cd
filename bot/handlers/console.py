"""The web console's Telegram side (issue 14): /quantri answers with a web_app button, and
staff private chats get a menu button opening the Mini App (setChatMenuButton)."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CommandHandler

from bot.handlers.base import Context, reply, requires, services
from bot.services import CommandInfo, Services

log = logging.getLogger(__name__)

BUTTON_TEXT = "Quản trị"
NO_URL = (
    "Bảng quản trị chưa có địa chỉ công khai (LOA_WEB_URL). Trên máy chủ, chạy "
    "<code>loa console-link</code> để lấy liên kết đăng nhập một lần."
)
PRIVATE_ONLY = "Mở bảng quản trị trong tin nhắn riêng với Loa (gõ /quantri ở đó)."


@requires("staff")
async def quantri_command(update: Update, context: Context) -> None:
    """/quantri: a web_app button that opens the console inside Telegram."""
    svc = services(context)
    chat = update.effective_chat
    url = svc.settings.web_url
    if url is None:
        await reply(update, NO_URL)
        return
    # Telegram accepts web_app inline buttons only in private chats (Bot API: WebAppInfo).
    if chat is None or chat.type != ChatType.PRIVATE:
        await reply(update, PRIVATE_ONLY)
        return
    try:
        await reply(
            update,
            "🗂 Bảng quản trị Loa: ý kiến, thông báo, chỉ đạo, thống kê, nhật ký.",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Mở bảng quản trị", web_app=WebAppInfo(url=url + "/"))]]
            ),
        )
    except BadRequest as exc:  # e.g. an http:// LOA_WEB_URL: Mini Apps need HTTPS
        log.warning("/quantri: Telegram refused the web_app button: %s", exc)
        await reply(
            update,
            f"Telegram không mở được bảng quản trị tại {html.escape(url)}/ (Mini App cần địa "
            "chỉ HTTPS trong LOA_WEB_URL). Mở địa chỉ đó trong trình duyệt, đăng nhập bằng "
            "<code>loa console-link</code>.",
        )


async def set_menu_button(bot: Bot, svc: Services, user_id: int, staff: bool) -> None:
    """Staff private chats get the Mini App as their menu button; others the default."""
    if svc.settings.web_url is None:
        return
    button: Any = (
        MenuButtonWebApp(BUTTON_TEXT, WebAppInfo(url=svc.settings.web_url + "/"))
        if staff
        else MenuButtonDefault()
    )
    try:
        await bot.set_chat_menu_button(chat_id=user_id, menu_button=button)
    except TelegramError as exc:
        # A staff member who never opened a chat with the bot gives "chat not found".
        log.info("could not set the menu button of user %s: %s", user_id, exc)


def register(app: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    """/quantri and the menu-button hook used when roles change."""
    svc.commands.append(CommandInfo("quantri", "Mở bảng quản trị (Mini App)", permission="staff"))
    app.add_handler(CommandHandler("quantri", quantri_command))

    async def refresh(user_id: int) -> None:
        from bot.handlers import menus

        await menus.refresh_staff_menu(app.bot, svc, user_id)

    # The console's Nhật ký page changes roles too; menus follow the same way.
    svc.features["refresh_staff_menu"] = refresh

    async def send_file(user_id: int, data: bytes, filename: str) -> bool:
        """An export into the staff member's private chat (the Mini App's downloads)."""
        try:
            await app.bot.send_document(
                chat_id=user_id,
                document=data,
                filename=filename,
                caption="📎 Tệp xuất từ bảng quản trị.",
            )
        except (Forbidden, BadRequest) as exc:  # never started the bot, or blocked it
            log.info("could not send an export to user %s: %s", user_id, exc)
            return False
        return True

    svc.features["send_file_to_user"] = send_file
