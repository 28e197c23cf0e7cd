"""Casework configuration and publication (migration 008): named moderators per category
(routing), the forum topic of each category, answer templates, and public answers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import InvalidInput, NotFound
from bot.store.cases import add_history
from bot.store.db import Database
from bot.store.staff import record_audit

# --------------------------------------------------------------------------- routing


async def set_route(
    db: Database,
    category: str,
    unit: str | None,
    moderator_id: int,
    *,
    actor_id: int,
    actor_role: str | None,
    now: int,
    remove: bool = False,
) -> bool:
    """Add (or remove) a named moderator for a category (and unit); audited."""
    async with db.transaction() as conn:
        if remove:
            async with conn.execute(
                "DELETE FROM case_routes WHERE category = ? AND unit = ? AND moderator_id = ?",
                (category, unit or "", moderator_id),
            ) as cur:
                changed = cur.rowcount > 0
        else:
            async with conn.execute(
                "INSERT INTO case_routes (category, unit, moderator_id, created_by, created_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (category, unit or "", moderator_id, actor_id, now),
            ) as cur:
                changed = cur.rowcount > 0
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.route_remove" if remove else "case.route",
            target=f"category:{category}",
            detail={"unit": unit, "moderator": moderator_id},
        )
        return changed


async def route_moderators(db: Database, category: str, unit: str | None) -> list[int]:
    """Named moderators of a category: those for every unit and those for this unit."""
    rows = await db.fetch_all(
        "SELECT DISTINCT moderator_id FROM case_routes WHERE category = ?"
        " AND (unit = '' OR unit = ?) ORDER BY moderator_id",
        (category, unit or ""),
    )
    return [int(r[0]) for r in rows]


@dataclass(frozen=True)
class Route:
    """A named moderator for a category (unit '' = every unit)."""

    category: str
    unit: str
    moderator_id: int


async def routes(db: Database) -> list[Route]:
    """Every route, by category."""
    rows = await db.fetch_all(
        "SELECT category, unit, moderator_id FROM case_routes ORDER BY category, unit, moderator_id"
    )
    return [Route(r[0], r[1], int(r[2])) for r in rows]


async def topic_of(db: Database, chat_id: int, category: str) -> int | None:
    """The forum topic (message_thread_id) of a category in a chat, if created."""
    value = await db.fetch_value(
        "SELECT thread_id FROM case_topics WHERE chat_id = ? AND category = ?",
        (chat_id, category),
    )
    return None if value is None else int(value)


async def save_topic(db: Database, chat_id: int, category: str, thread_id: int) -> None:
    """Remember the topic the bot created for a category."""
    await db.execute(
        "INSERT OR REPLACE INTO case_topics (chat_id, category, thread_id) VALUES (?,?,?)",
        (chat_id, category, thread_id),
    )


async def forget_topic(db: Database, chat_id: int, thread_id: int) -> None:
    """A topic Telegram says is gone (deleted by an admin): create it again next time."""
    await db.execute(
        "DELETE FROM case_topics WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id)
    )


# --------------------------------------------------------------------------- templates

TEMPLATE_MAX = 3000


@dataclass(frozen=True)
class Template:
    """An answer template of a category."""

    id: int
    category: str
    body: str


async def add_template(
    db: Database, category: str, body: str, *, actor_id: int, actor_role: str | None, now: int
) -> Template:
    """Store a template (audited)."""
    if not body or len(body) > TEMPLATE_MAX:
        raise InvalidInput(f"Mẫu trả lời phải có nội dung, tối đa {TEMPLATE_MAX} ký tự.")
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "INSERT INTO answer_templates (category, body, created_by, created_at)"
            " VALUES (?,?,?,?) RETURNING id",
            (category, body, actor_id, now),
        )
        template_id = int(next(iter(rows))[0])
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.template_add",
            target=f"template:{template_id}",
            detail={"category": category, "chars": len(body)},
        )
    return Template(template_id, category, body)


async def delete_template(
    db: Database, template_id: int, *, actor_id: int, actor_role: str | None, now: int
) -> bool:
    """Delete a template (audited); False if there was none."""
    async with db.transaction() as conn:
        async with conn.execute("DELETE FROM answer_templates WHERE id = ?", (template_id,)) as cur:
            gone = cur.rowcount > 0
        if gone:
            await record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=actor_role,
                action="case.template_delete",
                target=f"template:{template_id}",
                detail={},
            )
        return gone


async def templates(db: Database, category: str | None = None) -> list[Template]:
    """Templates of a category (or all), oldest first."""
    if category is None:
        rows = await db.fetch_all(
            "SELECT id, category, body FROM answer_templates ORDER BY category, id"
        )
    else:
        rows = await db.fetch_all(
            "SELECT id, category, body FROM answer_templates WHERE category = ? ORDER BY id",
            (category,),
        )
    return [Template(int(r[0]), r[1], r[2]) for r in rows]


async def template(db: Database, template_id: int) -> Template:
    """One template; NotFound if absent."""
    row = await db.fetch_one(
        "SELECT id, category, body FROM answer_templates WHERE id = ?", (template_id,)
    )
    if row is None:
        raise NotFound(f"Không tìm thấy mẫu trả lời số {template_id}.")
    return Template(int(row[0]), row[1], row[2])


# --------------------------------------------------------------------------- public answers


@dataclass(frozen=True)
class PublicAnswer:
    """A published question and answer."""

    comment_id: int
    text: str
    chat_id: int | None
    message_id: int | None
    published_at: int
    withdrawn_at: int | None


async def public_answer(db: Database, case_id: int) -> PublicAnswer | None:
    """The case's publication (live or withdrawn), if any."""
    row = await db.fetch_one(
        "SELECT comment_id, text, chat_id, message_id, published_at, withdrawn_at"
        " FROM public_answers WHERE comment_id = ?",
        (case_id,),
    )
    return None if row is None else PublicAnswer(*row)


async def record_published(
    db: Database,
    case_id: int,
    text: str,
    *,
    chat_id: int | None,
    message_id: int | None,
    actor_id: int,
    actor_role: str | None,
    now: int,
) -> None:
    """Remember a publication (replacing a withdrawn one), with history and audit."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR REPLACE INTO public_answers (comment_id, text, chat_id, message_id,"
            " published_by, published_at, withdrawn_at) VALUES (?,?,?,?,?,?,NULL)",
            (case_id, text, chat_id, message_id, actor_id, now),
        )
        await add_history(conn, case_id, at=now, actor_id=actor_id, event="publish")
        await record_audit(
            conn,
            at=now,
            actor_id=actor_id,
            actor_role=actor_role,
            action="case.publish",
            target=f"comment:{case_id}",
            detail={"channel": chat_id is not None},
        )


async def record_withdrawn(
    db: Database, case_id: int, *, actor_id: int, actor_role: str | None, now: int
) -> bool:
    """Mark a publication withdrawn (history, audit); False if none was live."""
    async with db.transaction() as conn:
        async with conn.execute(
            "UPDATE public_answers SET withdrawn_at = ? WHERE comment_id = ?"
            " AND withdrawn_at IS NULL",
            (now, case_id),
        ) as cur:
            changed = cur.rowcount > 0
        if changed:
            await add_history(conn, case_id, at=now, actor_id=actor_id, event="withdraw")
            await record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=actor_role,
                action="case.withdraw",
                target=f"comment:{case_id}",
                detail={},
            )
        return changed


async def published(db: Database, limit: int = 10) -> list[PublicAnswer]:
    """Live publications, newest first."""
    rows = await db.fetch_all(
        "SELECT comment_id, text, chat_id, message_id, published_at, withdrawn_at"
        " FROM public_answers WHERE withdrawn_at IS NULL ORDER BY published_at DESC,"
        " comment_id DESC LIMIT ?",
        (limit,),
    )
    return [PublicAnswer(*r) for r in rows]
