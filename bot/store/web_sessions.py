"""The console's one-time sign-in links and browser sessions (only hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from bot.store.db import Database

LINK_TTL = 10 * 60  # a sign-in link works once, within ten minutes
SESSION_TTL = 12 * 3600  # a browser session lasts a working day


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who, and the token its page must echo (X-Loa-Csrf)."""

    user_id: int
    csrf: str


async def create_login(db: Database, user_id: int, now: int) -> str:
    """A new single-use sign-in token for `user_id` (the secret is returned, not stored)."""
    token = secrets.token_urlsafe(32)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM web_logins WHERE expires_at < ?", (now,))
        await conn.execute(
            "INSERT INTO web_logins (token_hash, user_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (_hash(token), user_id, now, now + LINK_TTL),
        )
    return token


async def redeem_login(db: Database, token: str, now: int) -> tuple[str, Session] | None:
    """Use a sign-in token once: (session token, session), or None if unknown/used/expired."""
    if not token or len(token) > 200:
        return None
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE web_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
            " AND expires_at >= ? RETURNING user_id",
            (now, _hash(token), now),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        session_token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        await conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now,))
        await conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (_hash(session_token), int(row[0]), csrf, now, now + SESSION_TTL),
        )
    return session_token, Session(int(row[0]), csrf)


async def session(db: Database, token: str, now: int) -> Session | None:
    """The live session of a cookie value, or None."""
    if not token or len(token) > 200:
        return None
    row = await db.fetch_one(
        "SELECT user_id, csrf FROM web_sessions WHERE token_hash = ? AND expires_at >= ?",
        (_hash(token), now),
    )
    return None if row is None else Session(int(row[0]), str(row[1]))
