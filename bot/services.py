"""What handlers and workers share: settings, the database, the pacer, feature services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.domain.roles import Role, allows
from bot.store import staff
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.tg.pacer import Pacer


@dataclass(frozen=True)
class CommandInfo:
    """A command as /help and the Telegram menu show it.

    `name` is the Vietnamese name shown everywhere; `aliases` (English names) keep working.
    """

    name: str
    description: str  # Vietnamese, <= 256 characters (Bot API limit)
    aliases: tuple[str, ...] = ()
    permission: str | None = None  # None: everyone; else a key of bot.domain.roles
    in_menu: bool = True
    # Where it works, for /help and the menus: "all", "private" (private chats only) or
    # "groups" (group chats only). Staff commands also need a private or the admin chat.
    chats: str = "all"


@dataclass
class Services:
    """One per Application, kept in bot_data["services"]."""

    settings: Settings
    db: Database
    pacer: Pacer | None = None
    commands: list[CommandInfo] = field(default_factory=list)
    # Background parts (dispatcher, schedulers…): started after the DB opens, stopped
    # before it closes, in this order (stopped in reverse).
    starters: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Personal-data erasers for /forgetme, one per feature owning such data; each runs
    # inside the caller's transaction and returns Vietnamese lines saying what it erased.
    forgetters: list[Callable[[Any, int], Awaitable[list[str]]]] = field(default_factory=list)
    # Feature services, set by bot.app (typed loosely to keep layers one-way).
    features: dict[str, Any] = field(default_factory=dict)

    async def role_of(self, user_id: int | None) -> Role | None:
        """The user's role right now: owner from settings, else the stored grant."""
        if user_id is None:
            return None
        if self.settings.is_owner(user_id):
            return Role.OWNER
        return await staff.stored_role(self.db, user_id)

    async def may(self, user_id: int | None, permission: str) -> bool:
        """True when the user holds `permission` at this moment."""
        return allows(await self.role_of(user_id), permission)
