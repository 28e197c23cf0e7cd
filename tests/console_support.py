"""Helpers for the web console's tests: a running bot serving the console, signed initData."""

from __future__ import annotations

import time
from typing import Any

from bot.domain import clock
from bot.domain.roles import Role
from bot.store import reports
from bot.web.auth import sign_init_data
from tests.harness import TEST_TOKEN, RunningBot

EDITOR_ID, MODERATOR_ID, STAFF_ADMIN_ID, CITIZEN_ID = 900011, 900012, 900013, 900099


def init_data(user_id: int, *, token: str = TEST_TOKEN, age: float = 0, name: str = "Hạnh") -> str:
    """initData as Telegram signs it for `user_id` (auth_date `age` seconds ago)."""
    user = {"id": user_id, "first_name": name, "language_code": "vi"}
    return sign_init_data(token, user, int(time.time() - age), signature="c2lnbmF0dXJl")


def console_url(bot: RunningBot) -> str:
    """http://127.0.0.1:<port> of the bot's console."""
    console: Any = bot.svc.features["console"]
    return f"http://127.0.0.1:{console.port}"


async def grant(bot: RunningBot, user_id: int, role: Role, by: int) -> None:
    """Give `user_id` a staff role the way /grant stores it."""
    await reports.set_role(
        bot.svc.db, user_id=user_id, role=role, actor_id=by, actor_role=Role.OWNER, at=clock.now()
    )


async def staff_bot(bot_factory: Any, owner_id: int, **overrides: Any) -> RunningBot:
    """A bot serving its console on a free port, with an admin, an editor and a moderator."""
    overrides.setdefault("web_port", 0)
    bot: RunningBot = await bot_factory(**overrides)
    await grant(bot, STAFF_ADMIN_ID, Role.ADMIN, owner_id)
    await grant(bot, EDITOR_ID, Role.EDITOR, owner_id)
    await grant(bot, MODERATOR_ID, Role.MODERATOR, owner_id)
    return bot
