"""RSS/Atom feeds as stored (migration 007): the feed list, conditional-GET validators,
failures and back-off, and the items already taken (by guid/link and by text checksum)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.sources import normalize_link
from bot.store.db import Database
from bot.store.rows import as_int, as_str, opt_float, opt_int, opt_str
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Feed:
    """A feed the worker polls."""

    id: int
    url: str
    topic: str | None
    mode: str  # duyet (drafts for review) | tudong (published directly)
    state: str  # active | paused
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    failures: int
    last_error: str | None
    next_poll_at: float
    last_polled_at: float | None
    added_by: int | None


def _feed(r: aiosqlite.Row) -> Feed:
    return Feed(
        id=as_int(r["id"]),
        url=as_str(r["url"]),
        topic=opt_str(r["topic"]),
        mode=as_str(r["mode"]),
        state=as_str(r["state"]),
        etag=opt_str(r["etag"]),
        last_modified=opt_str(r["last_modified"]),
        body_hash=opt_str(r["body_hash"]),
        failures=as_int(r["failures"]),
        last_error=opt_str(r["last_error"]),
        next_poll_at=float(r["next_poll_at"]),
        last_polled_at=opt_float(r["last_polled_at"]),
        added_by=opt_int(r["added_by"]),
    )


async def add_feed(
    db: Database,
    url: str,
    *,
    topic: str | None,
    mode: str,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
) -> int:
    """Add a feed (polled at once); InvalidInput when the URL is already a feed, however
    decorated (case of the host, http/https, a trailing slash, tracking parameters)."""
    key = normalize_link(url)
    async with db.transaction() as conn:
        async with conn.execute("SELECT id, url FROM feeds") as cur:
            for row in await cur.fetchall():
                if normalize_link(str(row[1])) == key:
                    raise InvalidInput(
                        f"Nguồn tin này đã có trong danh sách (#{row[0]}, xem /nguontin)."
                    )
        async with conn.execute(
            "INSERT INTO feeds (url, topic, mode, added_by, added_at) VALUES (?, ?, ?, ?, ?)",
            (url, topic, mode, actor_id, now),
        ) as cur:
            feed_id = int(cur.lastrowid or 0)
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feeds.add",
            target=feed_id,
            detail={"url": url, "topic": topic, "mode": mode},
        )
    return feed_id


async def get_feed(db: Database, feed_id: int) -> Feed:
    """The feed or NotFound."""
    row = await db.fetch_one("SELECT * FROM feeds WHERE id = ?", (feed_id,))
    if row is None:
        raise NotFound(f"Không có nguồn tin số {feed_id} (xem /nguontin).")
    return _feed(row)


async def list_feeds(db: Database) -> list[Feed]:
    """Every feed, in the order they were added."""
    return [_feed(r) for r in await db.fetch_all("SELECT * FROM feeds ORDER BY id")]


async def due_feeds(db: Database, now: float, limit: int = 500) -> list[Feed]:
    """Active feeds whose next poll time has come."""
    rows = await db.fetch_all(
        "SELECT * FROM feeds WHERE state = 'active' AND next_poll_at <= ?"
        " ORDER BY next_poll_at, id LIMIT ?",
        (now, limit),
    )
    return [_feed(r) for r in rows]


async def next_due_at(db: Database) -> float | None:
    """When the next active feed is due (None: no active feed)."""
    value = await db.fetch_value("SELECT MIN(next_poll_at) FROM feeds WHERE state = 'active'")
    return None if value is None else float(value)


async def set_feed_state(
    db: Database,
    feed_id: int,
    state: str,
    *,
    actor_id: int | None,
    actor_role: str | None,
    now: int,
    reason: str | None = None,
) -> None:
    """Pause or resume a feed (resuming clears the failures and polls at once)."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE feeds SET state = ?, failures = CASE WHEN ? = 'active' THEN 0 ELSE failures"
            " END, next_poll_at = CASE WHEN ? = 'active' THEN 0 ELSE next_poll_at END"
            " WHERE id = ?",
            (state, state, state, feed_id),
        ) as cur:
            if not cur.rowcount:
                raise NotFound(f"Không có nguồn tin số {feed_id} (xem /nguontin).")
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feeds.pause" if state == "paused" else "feeds.resume",
            target=feed_id,
            detail={"reason": reason} if reason else None,
        )


async def remove_feed(
    db: Database, feed_id: int, *, actor_id: int | None, actor_role: str | None, now: int
) -> None:
    """Remove a feed and what it remembered (its drafts and articles stay)."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM feed_items WHERE feed_id = ?", (feed_id,))
        async with conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)) as cur:
            if not cur.rowcount:
                raise NotFound(f"Không có nguồn tin số {feed_id} (xem /nguontin).")
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="feeds.remove",
            target=feed_id,
        )


async def record_success(
    db: Database,
    feed_id: int,
    *,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    next_poll_at: float,
    now: float,
) -> None:
    """A poll that worked (200 or 304): validators kept, failures reset."""
    await db.execute(
        "UPDATE feeds SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
        " body_hash = COALESCE(?, body_hash), failures = 0, last_error = NULL,"
        " next_poll_at = ?, last_polled_at = ? WHERE id = ?",
        (etag, last_modified, body_hash, next_poll_at, now, feed_id),
    )


async def record_failure(
    db: Database, feed_id: int, *, error: str, next_poll_at: float, now: float, pause_after: int
) -> bool:
    """A failed poll: count it, back off; pause the feed after `pause_after` failures in a
    row. True when this failure paused it."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE feeds SET failures = failures + 1, last_error = ?, next_poll_at = ?,"
            " last_polled_at = ? WHERE id = ?",
            (error[:300], next_poll_at, now, feed_id),
        )
        async with conn.execute(
            "UPDATE feeds SET state = 'paused' WHERE id = ? AND state = 'active' AND failures >= ?",
            (feed_id, pause_after),
        ) as cur:
            paused = cur.rowcount > 0
        if paused:
            await record_audit(
                conn,
                at=int(now),
                actor_id=None,
                actor_role=None,
                action="feeds.pause",
                target=feed_id,
                detail={"reason": error[:300]},
            )
    return paused


async def known_items(db: Database, feed_id: int, keys: Iterable[str]) -> set[str]:
    """Which of these item keys the feed has already given."""
    keys = list(keys)
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = await db.fetch_all(
            f"SELECT item_key FROM feed_items WHERE feed_id = ? AND item_key IN"
            f" ({','.join('?' * len(chunk))})",
            (feed_id, *chunk),
        )
        found.update(str(r[0]) for r in rows)
    return found


async def checksum_seen(db: Database, checksum: str) -> bool:
    """True when an item with this text was already taken (from any feed)."""
    return (
        await db.fetch_value("SELECT 1 FROM feed_items WHERE checksum = ? LIMIT 1", (checksum,))
        is not None
    )


async def remember_item(
    db: Database, feed_id: int, key: str, checksum: str, draft_id: int | None, now: int
) -> bool:
    """Record an item as taken; False when it already was (a concurrent poll)."""
    return bool(
        await db.execute(
            "INSERT OR IGNORE INTO feed_items (feed_id, item_key, checksum, draft_id, seen_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (feed_id, key, checksum, draft_id, now),
        )
    )
