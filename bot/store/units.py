"""The units directory (migration 009): units, every code they ever had, import, rename
and merge (groups, session reports and history follow; old codes keep resolving)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.text import fold, quote
from bot.domain.units import UnitRow, normalize_code, normalize_name
from bot.store.db import Database
from bot.store.rows import as_int, as_str, opt_int
from bot.store.staff import record_audit


@dataclass(frozen=True)
class Unit:
    """A unit as stored."""

    id: int
    code: str
    name: str
    parent_id: int | None
    merged_into: int | None


_COLUMNS = "id, code, name, parent_id, merged_into"


def _unit(r: aiosqlite.Row) -> Unit:
    return Unit(as_int(r[0]), as_str(r[1]), as_str(r[2]), opt_int(r[3]), opt_int(r[4]))


async def all_units(db: Database, *, merged: bool = False) -> list[Unit]:
    """Every unit (merged-away ones only with `merged`), by name."""
    where = "" if merged else " WHERE merged_into IS NULL"
    rows = await db.fetch_all(f"SELECT {_COLUMNS} FROM units{where} ORDER BY name, code")
    return [_unit(r) for r in rows]


async def _resolve(conn: aiosqlite.Connection, text: str) -> Unit | None:
    key = text.strip().lower()
    async with conn.execute(
        f"SELECT {', '.join('u.' + c.strip() for c in _COLUMNS.split(','))} FROM unit_codes c"
        " JOIN units u ON u.id = c.unit_id WHERE c.code = ?",
        (key,),
    ) as cur:
        row = await cur.fetchone()
    if row is not None:
        return _unit(row)
    # By name, diacritics and case forgiven ("phuong chi lang" finds "Phường Chi Lăng").
    wanted = " ".join(fold(text).split())
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM units WHERE merged_into IS NULL ORDER BY id"
    ) as cur:
        for r in await cur.fetchall():
            if " ".join(fold(str(r[2])).split()) == wanted:
                return _unit(r)
    return None


async def find_unit(db: Database, text: str) -> Unit | None:
    """The unit a code (current or old) or a name refers to now, or None."""
    async with db.snapshot() as conn:
        return await _resolve(conn, text)


async def get_unit(db: Database, text: str) -> Unit:
    """Like find_unit, but NotFound with a Vietnamese message."""
    unit = await find_unit(db, text)
    if unit is None:
        raise NotFound(f"Không có đơn vị «{quote(text.strip(), 60)}». Xem danh sách: /donvi")
    return unit


async def unit_by_id(db: Database, unit_id: int) -> Unit:
    """The unit with this id (NotFound otherwise)."""
    row = await db.fetch_one(f"SELECT {_COLUMNS} FROM units WHERE id = ?", (unit_id,))
    if row is None:
        raise NotFound("Không có đơn vị này.")
    return _unit(row)


async def names_by_code(db: Database) -> dict[str, str]:
    """Every code ever used (old ones too) → the current name of the unit it resolves to."""
    rows = await db.fetch_all(
        "SELECT c.code, u.name FROM unit_codes c JOIN units u ON u.id = c.unit_id"
    )
    return {str(r[0]): str(r[1]) for r in rows}


async def unit_name(db: Database, code: str | None) -> str | None:
    """The name to show for a stored unit code (the code itself if the directory lacks it)."""
    if not code:
        return None
    value = await db.fetch_value(
        "SELECT u.name FROM unit_codes c JOIN units u ON u.id = c.unit_id WHERE c.code = ?",
        (code,),
    )
    return str(value) if value is not None else code


async def _audit(
    conn: aiosqlite.Connection,
    actor: tuple[int | None, str | None],
    now: int,
    action: str,
    target: object,
    detail: dict[str, object],
) -> None:
    await record_audit(
        conn,
        at=now,
        actor_id=actor[0],
        actor_role=actor[1],
        action=action,
        target=target,
        detail=detail,
    )


async def _insert(
    conn: aiosqlite.Connection, code: str, name: str, parent_id: int | None, now: int
) -> int:
    async with conn.execute("SELECT unit_id FROM unit_codes WHERE code = ?", (code,)) as cur:
        if await cur.fetchone() is not None:
            raise InvalidInput(f"Mã {code} đã được dùng (có thể là mã cũ của một đơn vị).")
    async with conn.execute(
        "INSERT INTO units (code, name, parent_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (code, name, parent_id, now, now),
    ) as cur:
        uid = int(cur.lastrowid or 0)
    await conn.execute("INSERT INTO unit_codes (code, unit_id) VALUES (?, ?)", (code, uid))
    return uid


async def create_unit(
    db: Database,
    code: str,
    name: str,
    parent: str | None = None,
    *,
    actor: tuple[int | None, str | None] = (None, None),
    now: int,
) -> Unit:
    """Add a unit (code unused, parent existing); audited."""
    code, name = normalize_code(code), normalize_name(name)
    async with db.transaction() as conn:
        parent_id = None
        if parent:
            p = await _resolve(conn, parent)
            if p is None:
                raise NotFound(f"Không có đơn vị cấp trên «{quote(parent, 60)}».")
            parent_id = p.id
        uid = await _insert(conn, code, name, parent_id, now)
        await _audit(conn, actor, now, "unit_create", code, {"name": name})
    return await unit_by_id(db, uid)


async def import_units(
    db: Database,
    rows: Sequence[UnitRow],
    *,
    actor: tuple[int | None, str | None] = (None, None),
    now: int,
) -> tuple[int, int]:
    """Add new codes and rename existing ones, then set parents, in ONE transaction (a bad
    line leaves the directory untouched). Returns (added, updated)."""
    added = updated = 0
    async with db.transaction() as conn:
        ids: dict[str, int] = {}
        for row in rows:
            unit = await _resolve_code(conn, row.code)
            if unit is None:
                ids[row.code] = await _insert(conn, row.code, row.name, None, now)
                added += 1
            else:
                ids[row.code] = unit.id
                if unit.name != row.name:
                    await conn.execute(
                        "UPDATE units SET name = ?, updated_at = ? WHERE id = ?",
                        (row.name, now, unit.id),
                    )
                    updated += 1
        for row in rows:
            parent_id = None
            if row.parent:
                parent_id = ids.get(row.parent)
                if parent_id is None:
                    p = await _resolve_code(conn, row.parent)
                    if p is None:
                        raise InvalidInput(
                            f"Dòng {row.line}: không có đơn vị cấp trên mã {row.parent}."
                        )
                    parent_id = p.id
            await conn.execute(
                "UPDATE units SET parent_id = ? WHERE id = ?", (parent_id, ids[row.code])
            )
        await _audit(conn, actor, now, "unit_import", None, {"added": added, "updated": updated})
    return added, updated


async def _resolve_code(conn: aiosqlite.Connection, code: str) -> Unit | None:
    async with conn.execute(
        "SELECT u.id, u.code, u.name, u.parent_id, u.merged_into FROM unit_codes c"
        " JOIN units u ON u.id = c.unit_id WHERE c.code = ?",
        (code,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _unit(row)


async def _recode(conn: aiosqlite.Connection, old: str, new: str) -> None:
    """Chats and not-yet-sent unit broadcasts follow a unit's new code."""
    await conn.execute("UPDATE subscriptions SET unit = ? WHERE unit = ?", (new, old))
    async with conn.execute(
        "SELECT id, audience FROM broadcasts WHERE audience LIKE 'unit:%'"
        " AND state IN ('draft', 'awaiting_approval', 'queued', 'sending')"
    ) as cur:
        rows = [(int(r[0]), str(r[1])) for r in await cur.fetchall()]
    for bid, key in rows:
        codes = key[5:].split(",")
        if old in codes:
            merged = list(dict.fromkeys(new if c == old else c for c in codes))
            await conn.execute(
                "UPDATE broadcasts SET audience = ? WHERE id = ?", ("unit:" + ",".join(merged), bid)
            )


async def rename_unit(
    db: Database,
    which: str,
    *,
    name: str | None = None,
    code: str | None = None,
    actor: tuple[int | None, str | None] = (None, None),
    now: int,
) -> Unit:
    """Give a unit a new name and/or code; the old code keeps resolving to it."""
    async with db.transaction() as conn:
        unit = await _resolve(conn, which)
        if unit is None or unit.merged_into is not None:
            raise NotFound(f"Không có đơn vị «{quote(which.strip(), 60)}». Xem danh sách: /donvi")
        new_name = normalize_name(name) if name is not None else unit.name
        new_code = normalize_code(code) if code is not None else unit.code
        if new_code != unit.code:
            async with conn.execute(
                "SELECT unit_id FROM unit_codes WHERE code = ?", (new_code,)
            ) as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) != unit.id:
                raise InvalidInput(f"Mã {new_code} đã được dùng cho đơn vị khác.")
            await conn.execute(
                "INSERT OR IGNORE INTO unit_codes (code, unit_id) VALUES (?, ?)",
                (new_code, unit.id),
            )
            await _recode(conn, unit.code, new_code)
        await conn.execute(
            "UPDATE units SET name = ?, code = ?, updated_at = ? WHERE id = ?",
            (new_name, new_code, now, unit.id),
        )
        await _audit(
            conn,
            actor,
            now,
            "unit_rename",
            unit.code,
            {"name": new_name, "code": new_code, "old_name": unit.name},
        )
    return await unit_by_id(db, unit.id)


@dataclass(frozen=True)
class MergeResult:
    """What moved in a merge."""

    source: Unit
    target: Unit
    groups: int
    reports: int


async def merge_units(
    db: Database,
    source: str,
    target: str,
    *,
    actor: tuple[int | None, str | None] = (None, None),
    now: int,
) -> MergeResult:
    """Merge `source` into `target` in one transaction: its groups, session reports,
    children, reminders and codes move; `source` stays as a record pointing at `target`."""
    async with db.transaction() as conn:
        src, dst = await _resolve(conn, source), await _resolve(conn, target)
        if src is None or src.merged_into is not None:
            raise NotFound(f"Không có đơn vị «{quote(source.strip(), 60)}».")
        if dst is None or dst.merged_into is not None:
            raise NotFound(f"Không có đơn vị «{quote(target.strip(), 60)}».")
        if src.id == dst.id:
            raise InvalidInput("Không thể sáp nhập một đơn vị vào chính nó.")
        async with conn.execute(
            "SELECT COUNT(*) FROM subscriptions WHERE unit = ?", (src.code,)
        ) as cur:
            groups = int((await cur.fetchone() or [0])[0])
        await _recode(conn, src.code, dst.code)
        async with conn.execute(
            "UPDATE session_reports SET unit_id = ? WHERE unit_id = ?", (dst.id, src.id)
        ) as cur:
            reports = cur.rowcount
        await conn.execute(
            "DELETE FROM unit_report_reminders WHERE unit_id = ? AND quarter IN ("
            " SELECT quarter FROM unit_report_reminders WHERE unit_id = ?)",
            (src.id, dst.id),
        )
        await conn.execute(
            "UPDATE unit_report_reminders SET unit_id = ? WHERE unit_id = ?", (dst.id, src.id)
        )
        await conn.execute(
            "UPDATE units SET parent_id = ? WHERE parent_id = ? AND id <> ?",
            (dst.id, src.id, dst.id),
        )
        await conn.execute("UPDATE unit_codes SET unit_id = ? WHERE unit_id = ?", (dst.id, src.id))
        await conn.execute(
            "UPDATE units SET merged_into = ?, updated_at = ? WHERE id = ?", (dst.id, now, src.id)
        )
        await _audit(
            conn,
            actor,
            now,
            "unit_merge",
            src.code,
            {"into": dst.code, "groups": groups, "reports": reports},
        )
    return MergeResult(src, dst, groups, reports)


async def unit_groups(db: Database, unit_code: str) -> list[int]:
    """Approved, active cadre chats of a unit (by its current code)."""
    rows = await db.fetch_all(
        "SELECT s.chat_id FROM subscriptions s JOIN chats c ON c.id = s.chat_id"
        " WHERE s.unit = ? AND s.approval = 'approved' AND s.active = 1 AND c.active = 1",
        (unit_code,),
    )
    return [int(r[0]) for r in rows]


async def directory_rows(db: Database) -> list[tuple[str, str, str | None]]:
    """(code, name, parent code) of every current unit, for the export."""
    rows = await db.fetch_all(
        "SELECT u.code, u.name, p.code FROM units u LEFT JOIN units p ON p.id = u.parent_id"
        " WHERE u.merged_into IS NULL ORDER BY u.name, u.code"
    )
    return [(str(r[0]), str(r[1]), None if r[2] is None else str(r[2])) for r in rows]


async def groups_per_unit(db: Database) -> dict[int, int]:
    """unit id → number of approved cadre groups labelled with it."""
    rows = await db.fetch_all(
        "SELECT c.unit_id, COUNT(*) FROM subscriptions s JOIN unit_codes c ON c.code = s.unit"
        " WHERE s.approval = 'approved' GROUP BY c.unit_id"
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def ensure_unit(
    db: Database, text: str, *, actor: tuple[int | None, str | None] = (None, None), now: int
) -> Unit:
    """The unit a code or name refers to; an unknown valid code becomes a new unit named
    after it (as /setunit labels did before the directory), to be renamed later."""
    unit = await find_unit(db, text)
    if unit is not None:
        return unit
    code = normalize_code(text)
    return await create_unit(db, code, code, actor=actor, now=now)


async def canonical_audience(conn: aiosqlite.Connection, key: str) -> str:
    """A unit audience ("unit:a,b") with every code as the unit's current code: a directive
    file or a button naming an old code (renamed or merged) still reaches the unit."""
    if not key.startswith("unit:"):
        return key
    codes = []
    for code in key[5:].split(","):
        async with conn.execute(
            "SELECT u.code FROM unit_codes c JOIN units u ON u.id = c.unit_id WHERE c.code = ?",
            (code,),
        ) as cur:
            row = await cur.fetchone()
        codes.append(str(row[0]) if row is not None else code)
    return "unit:" + ",".join(dict.fromkeys(codes))
