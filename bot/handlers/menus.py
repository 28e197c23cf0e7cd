"""The Telegram command menus: a public one, and one per staff member by role."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.domain.roles import Role, allows
from bot.handlers.console import set_menu_button
from bot.services import Services

log = logging.getLogger(__name__)


def menu_for(svc: Services, role: Role | None) -> list[BotCommand]:
    """The menu for a role (None: the public menu); aliases stay out of it."""
    return [
        BotCommand(info.name, info.description[:256])
        for info in svc.commands
        if info.in_menu and (info.permission is None or allows(role, info.permission))
    ]


async def refresh_staff_menu(bot: Bot, svc: Services, user_id: int) -> None:
    """Give one user the menu of their current role (the public one if they have none)."""
    role = await svc.role_of(user_id)
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        if role is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(menu_for(svc, role), scope=scope)
    except TelegramError as exc:
        # A staff member who never opened a chat with the bot gives "chat not found".
        log.info("could not set the menu of user %s: %s", user_id, exc)
    # Web console (issue 14): the Mini App as the menu button of staff private chats.
    await set_menu_button(bot, svc, user_id, staff=role is not None)


async def publish_commands(bot: Any, svc: Services) -> None:
    """setMyCommands for everyone, then a fuller menu in each staff member's private chat."""
    try:
        await bot.set_my_commands(menu_for(svc, None), scope=BotCommandScopeDefault())
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)
    staff_ids = set(svc.settings.admin_ids)
    rows = await svc.db.fetch_all("SELECT user_id FROM staff_roles")
    staff_ids.update(int(r[0]) for r in rows)
    for user_id in sorted(staff_ids):
        await refresh_staff_menu(bot, svc, user_id)
