"""Telegram conversation state kept across restarts (migration 012): rows of JSON that
bot.handlers.persistence reads at start and writes as users progress."""

from __future__ import annotations

import time

import aiosqlite

from bot.store.db import Database

USER = "user"


def conversation_kind(name: str) -> str:
    """The `kind` of one ConversationHandler's rows."""
    return f"conversation:{name}"


async def load(db: Database, kind: str) -> dict[str, str]:
    """key → JSON value of every row of `kind`."""
    rows = await db.fetch_all("SELECT key, value FROM tg_state WHERE kind = ?", (kind,))
    return {str(r[0]): str(r[1]) for r in rows}


async def save(db: Database, kind: str, key: str, value: str | None) -> None:
    """Write one row (None deletes it)."""
    if value is None:
        await db.execute("DELETE FROM tg_state WHERE kind = ? AND key = ?", (kind, key))
        return
    await db.execute(
        "INSERT INTO tg_state (kind, key, value, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at",
        (kind, key, value, int(time.time())),
    )


async def forget_user(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """/xoadulieu: drop the user's saved drafts (a comment being written holds their text)."""
    async with conn.execute(
        "DELETE FROM tg_state WHERE kind = ? AND key = ?", (USER, str(user_id))
    ) as cur:
        return ["bản nháp đang viết dở"] if cur.rowcount else []
