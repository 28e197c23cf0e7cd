"""The Telegram command menus and /help: Vietnamese names, by chat type and by role.

One rule decides which commands a person sees (`visible_commands`): the public ones that
work in this kind of chat, plus the staff ones of their role where staff work (a private
chat or the admin chat). The menus Telegram shows and /help both use it.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot.domain.roles import Role, allows
from bot.handlers.console import set_menu_button
from bot.services import CommandInfo, Services

log = logging.getLogger(__name__)


def visible_commands(
    svc: Services, role: Role | None, *, private: bool, admin_chat: bool = False
) -> list[CommandInfo]:
    """The commands a person with `role` can use in this kind of chat, in menu order."""
    shown = []
    for info in svc.commands:
        if info.chats == ("groups" if private else "private"):
            continue
        # Staff commands answer only in a private chat or the admin chat.
        staff_here = (private or admin_chat) and allows(role, info.permission or "staff")
        if info.permission is not None and not staff_here:
            continue
        shown.append(info)
    return shown


def menu_for(
    svc: Services, role: Role | None, *, private: bool = True, admin_chat: bool = False
) -> list[BotCommand]:
    """A Telegram menu (aliases and hidden commands stay out of it)."""
    return [
        BotCommand(info.name, info.description[:256])
        for info in visible_commands(svc, role, private=private, admin_chat=admin_chat)
        if info.in_menu
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
    """setMyCommands per scope: private chats, groups, the admin chat, each staff member."""
    citizen = menu_for(svc, None, private=True)
    scopes: list[tuple[Any, list[BotCommand]]] = [
        (BotCommandScopeDefault(), citizen),
        (BotCommandScopeAllPrivateChats(), citizen),
        (BotCommandScopeAllGroupChats(), menu_for(svc, None, private=False)),
    ]
    if svc.settings.admin_chat_id is not None:
        # Everyone in the admin chat is staff; each command re-checks the sender's role.
        staff_menu = menu_for(svc, Role.ADMIN, private=False, admin_chat=True)
        scopes.append((BotCommandScopeChat(chat_id=svc.settings.admin_chat_id), staff_menu))
    for scope, commands in scopes:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:
            log.warning("could not publish the command menu (%s): %s", scope.type, exc)
    staff_ids = set(svc.settings.admin_ids)
    rows = await svc.db.fetch_all("SELECT user_id FROM staff_roles")
    staff_ids.update(int(r[0]) for r in rows)
    for user_id in sorted(staff_ids):
        await refresh_staff_menu(bot, svc, user_id)
