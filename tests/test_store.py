"""The SQLite store: pragmas, migrations, transactions — on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import people
from bot.store.db import Database, load_migrations, split_statements


async def test_empty_db_migrates_to_latest_and_rerun_is_noop(tmp_path: Path) -> None:
    latest = max(m.version for m in load_migrations())
    async with Database(tmp_path / "loa.db") as db:
        assert await db.schema_version() == latest
        tables = {r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master")}
        assert {"chats", "users", "staff_roles", "audit_log", "schema_migrations"} <= tables
        applied = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    async with Database(tmp_path / "loa.db") as db:
        assert await db.migrate() == latest
        again = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    assert (
        [r[0] for r in applied] == [r[0] for r in again] == [m.version for m in load_migrations()]
    )


async def test_pragmas(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        assert (await db.fetch_value("PRAGMA journal_mode")).lower() == "wal"
        assert await db.fetch_value("PRAGMA foreign_keys") == 1
        assert await db.fetch_value("PRAGMA busy_timeout") == 5000
        assert await db.fetch_value("PRAGMA synchronous") == 1  # NORMAL


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        await people.upsert_chat(db, 1, "private", "An", None, 100)
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("UPDATE chats SET title = 'changed' WHERE id = 1")
                raise RuntimeError("boom")
        assert (await people.get_chat(db, 1)).title == "An"  # type: ignore[union-attr]


async def test_failed_migration_leaves_no_trace(tmp_path: Path, monkeypatch) -> None:
    from bot.store import db as db_module

    good = load_migrations()
    broken = db_module.Migration(999, "broken", "CREATE TABLE t (x);\nINSERT INTO nope VALUES (1);")
    monkeypatch.setattr(db_module, "load_migrations", lambda: [*good, broken])
    database = Database(tmp_path / "loa.db")
    with pytest.raises(Exception, match="nope"):
        await database.open()
    assert await database.schema_version() == max(m.version for m in good)
    assert await database.fetch_value("SELECT COUNT(*) FROM sqlite_master WHERE name='t'") == 0
    await database.close()


def test_split_statements_keeps_triggers_whole() -> None:
    sql = (
        "CREATE TABLE a (x);\n-- comment\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
        "  UPDATE a SET x = 1;\nEND;\n"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[1].endswith("END;")


async def test_chat_and_user_upserts(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        await people.upsert_chat(db, -5, "group", "Chi bộ 1", None, 10)
        await people.upsert_chat(db, -5, "group", "Chi bộ Một", None, 20)
        chat = await people.get_chat(db, -5)
        assert chat is not None and chat.title == "Chi bộ Một"
        assert (chat.first_seen, chat.last_seen) == (10, 20)
        assert await people.set_chat_active(db, -5, False, "removed")
        chat = await people.get_chat(db, -5)
        assert chat is not None and not chat.active and chat.inactive_reason == "removed"
        await people.upsert_user(db, 7, "Trần Văn Bảy", "bay", "vi", 30)
        user = await people.get_user(db, 7)
        assert user is not None and user.name == "Trần Văn Bảy"
