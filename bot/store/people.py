"""Chats and users the bot has seen."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.domain.text import nfc
from bot.store.db import Database
from bot.store.rows import as_bool, as_int, as_str, opt_str


@dataclass(frozen=True)
class Chat:
    """A Telegram chat as stored."""

    id: int
    type: str
    title: str | None
    username: str | None
    active: bool
    inactive_reason: str | None
    first_seen: int
    last_seen: int

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels (negative ids in Telegram)."""
        return self.type != "private"


@dataclass(frozen=True)
class User:
    """A Telegram user as stored."""

    id: int
    name: str | None
    username: str | None
    language: str | None
    first_seen: int
    last_seen: int


_CHAT_COLUMNS = "id, type, title, username, active, inactive_reason, first_seen, last_seen"


def _chat(r: aiosqlite.Row) -> Chat:
    return Chat(
        as_int(r[0]),
        as_str(r[1]),
        opt_str(r[2]),
        opt_str(r[3]),
        as_bool(r[4]),
        opt_str(r[5]),
        as_int(r[6]),
        as_int(r[7]),
    )


_SIGHTING = (
    "INSERT INTO sightings (chat_id, chat_type, chat_title, chat_username,"
    " user_id, user_name, user_username, user_language, seen_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def upsert_chat(
    db: Database, chat_id: int, chat_type: str, title: str | None, username: str | None, now: int
) -> None:
    """Insert a chat or refresh its type, title and last_seen (stored in NFC)."""
    await touch(db, now, chat=(chat_id, chat_type, title, username))


async def upsert_user(
    db: Database,
    user_id: int,
    name: str | None,
    username: str | None,
    language: str | None,
    now: int,
) -> None:
    """Insert a user or refresh their name, username, language and last_seen."""
    await touch(db, now, user=(user_id, name, username, language))


async def touch(
    db: Database,
    now: int,
    *,
    chat: tuple[int, str, str | None, str | None] | None = None,
    user: tuple[int, str | None, str | None, str | None] | None = None,
) -> None:
    """Upsert a chat (id, type, title, username) and a user (id, name, username, language).

    One statement, so one trip to the database thread and atomic: a row inserted into the
    `sightings` view, whose trigger runs both upserts (migration 013; issue 17)."""
    if chat is None and user is None:
        return
    c = chat or (None, None, None, None)
    u = user or (None, None, None, None)
    await db.execute(_SIGHTING, (c[0], c[1], _nfc(c[2]), c[3], u[0], _nfc(u[1]), u[2], u[3], now))


def _nfc(text: str | None) -> str | None:
    """Names and titles are stored in NFC, whatever the client sent (issue 10)."""
    return nfc(text) if text is not None else None


async def set_chat_active(db: Database, chat_id: int, active: bool, reason: str | None) -> bool:
    """Mark a chat active or inactive (with the reason); True if the chat exists."""
    changed = await db.execute(
        "UPDATE chats SET active = ?, inactive_reason = ? WHERE id = ?",
        (int(active), None if active else reason, chat_id),
    )
    return changed > 0


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    """The stored chat or None."""
    row = await db.fetch_one(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,))
    return None if row is None else _chat(row)


async def get_user(db: Database, user_id: int) -> User | None:
    """The stored user or None."""
    row = await db.fetch_one(
        "SELECT id, name, username, language, first_seen, last_seen FROM users WHERE id = ?",
        (user_id,),
    )
    return None if row is None else User(*row)


async def forget_user(conn: aiosqlite.Connection, user_id: int) -> list[str]:
    """Erase the user's row and their private chat's row (its id is their Telegram id and
    its title their name). Deliveries to that chat go with it: a forgotten person no
    longer counts in past delivery figures, which privacy outweighs."""
    erased: list[str] = []
    # The id alone (no name) so `loa restore` can erase them again from an older backup.
    await conn.execute(
        "INSERT OR REPLACE INTO erased_users (user_id, erased_at)"
        " VALUES (?, CAST(strftime('%s', 'now') AS INTEGER))",
        (user_id,),
    )
    async with conn.execute("DELETE FROM users WHERE id = ?", (user_id,)) as cur:
        if cur.rowcount:
            erased.append("hồ sơ người dùng (tên, tên đăng nhập, ngôn ngữ)")
    async with conn.execute(
        "DELETE FROM chats WHERE id = ? AND type = 'private'", (user_id,)
    ) as cur:
        if cur.rowcount:
            erased.append("thông tin cuộc trò chuyện riêng với bot")
    return erased
