"""A real `loa run` in a child process against the fake Bot API, for the black-box tests."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.domain import clock
from bot.store.db import Database
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN


def loa_env(tmp_path: Path, fake: FakeTelegram, **settings: str) -> dict[str, str]:
    """The child's environment: the parent's without any LOA_ setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env.update(
        LOA_BOT_TOKEN=TEST_TOKEN,
        LOA_BOT_API_URL=fake.base_url,
        LOA_DB_PATH=str(tmp_path / "loa.db"),
        LOA_CONTENT_DIR=str(tmp_path / "content"),
    )
    env.update(settings)
    return env


async def spawn_loa(tmp_path: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """Start `python -m bot run` in tmp_path, appending its output to log."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=str(tmp_path), env=env, stdout=out, stderr=out
        )


async def subscribe_chats(db_path: Path, chats: Iterable[tuple[int, str]]) -> None:
    """Store (chat id, chat type) pairs as known, subscribed chats, before the bot starts."""
    now = clock.now()
    rows = list(chats)
    async with Database(db_path) as db:
        await db.executemany(
            "INSERT INTO chats (id, type, title, first_seen, last_seen) VALUES (?, ?, 'x', ?, ?)",
            [(cid, kind, now, now) for cid, kind in rows],
        )
        await db.executemany(
            "INSERT INTO subscriptions (chat_id, created_at, updated_at) VALUES (?, ?, ?)",
            [(cid, now, now) for cid, _ in rows],
        )
