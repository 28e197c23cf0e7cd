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


async def test_touch_records_chat_and_user_in_one_statement(tmp_path: Path) -> None:
    """The sightings view's trigger upserts both rows (one trip), or only the one given;
    a later touch keeps first_seen and refreshes the rest (stored in NFC)."""
    decomposed = "Nguye\u0302\u0303n Va\u0306n A"  # "Nguyễn Văn A" sent decomposed
    async with Database(tmp_path / "loa.db") as db:
        trips = 0
        execute = db.conn.execute

        def counted(*args: object, **kwargs: object) -> object:
            nonlocal trips
            trips += 1
            return execute(*args, **kwargs)  # type: ignore[arg-type]

        db.conn.execute = counted  # type: ignore[method-assign]
        await people.touch(
            db, 10, chat=(5, "private", decomposed, "a"), user=(5, decomposed, "a", "vi")
        )
        assert trips == 1
        await people.touch(db, 20, user=(6, "Bình", None, None))
        await people.touch(db, 30, chat=(5, "private", "An", "an"), user=(5, "An", "an", "en"))
        chat, user, other = (
            await people.get_chat(db, 5),
            await people.get_user(db, 5),
            await people.get_user(db, 6),
        )
        assert chat is not None and (
            chat.title,
            chat.username,
            chat.first_seen,
            chat.last_seen,
        ) == ("An", "an", 10, 30)
        assert user is not None and (user.name, user.language, user.first_seen, user.last_seen) == (
            "An",
            "en",
            10,
            30,
        )
        assert other is not None and other.name == "Bình" and await people.get_chat(db, 6) is None
        await people.touch(db, 40, user=(7, decomposed, None, None))
        seventh = await people.get_user(db, 7)
        assert seventh is not None and seventh.name == "Nguyễn Văn A"
        assert await db.fetch_value("SELECT COUNT(*) FROM sightings") == 0
