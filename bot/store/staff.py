"""Staff roles granted from Telegram, and the audit log of staff actions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.domain.roles import Role
from bot.store.db import Database


@dataclass(frozen=True)
class AuditEntry:
    """One recorded staff action."""

    id: int
    at: int
    actor_id: int | None
    actor_role: str | None
    action: str
    target: str | None
    detail: str | None


async def stored_role(db: Database, user_id: int) -> Role | None:
    """The role granted to a user in the database (owners are not stored)."""
    value = await db.fetch_value("SELECT role FROM staff_roles WHERE user_id = ?", (user_id,))
    return None if value is None else Role(value)


async def record_audit(
    conn: aiosqlite.Connection,
    *,
    at: int,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    target: object = None,
    detail: dict[str, Any] | str | None = None,
) -> None:
    """Append an audit entry inside the caller's transaction."""
    if isinstance(detail, dict):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
    await conn.execute(
        "INSERT INTO audit_log (at, actor_id, actor_role, action, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (at, actor_id, actor_role, action, None if target is None else str(target), detail),
    )


async def latest_audit(db: Database, limit: int = 20, since: int | None = None) -> list[AuditEntry]:
    """Newest audit entries first."""
    rows = await db.fetch_all(
        "SELECT id, at, actor_id, actor_role, action, target, detail FROM audit_log"
        " WHERE at >= ? ORDER BY id DESC LIMIT ?",
        (since or 0, limit),
    )
    return [AuditEntry(*row) for row in rows]
