"""What readers' updates keep in memory instead of asking the database (issue 17): saved
user_data rows only when there is one, approved-comment counts until a moderator changes
one, parsed articles until the index changes — and each comes back fresh after a write."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from bot.handlers.persistence import SqlitePersistence
from bot.store import articles
from bot.store import feedback as store
from bot.store.db import Database

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
ARTICLE = "2022-04-08-giao-ban-tuyen-giao-quy-i"


async def _statements(db: Database) -> list[str]:
    """Every SQL statement the connection runs from now on (SQLite's trace callback)."""
    seen: list[str] = []
    await db.conn.set_trace_callback(seen.append)
    return seen


async def test_user_data_rows_are_written_only_when_there_is_something_to_change(
    tmp_path: Path,
) -> None:
    async with Database(tmp_path / "loa.db") as db:
        persistence = SqlitePersistence(db)
        assert await persistence.get_user_data() == {}
        seen = await _statements(db)
        # PTB saves the (empty) user_data of every user who sent an update: no row, no trip.
        for user_id in range(1, 51):
            await persistence.update_user_data(user_id, {})
        assert [s for s in seen if "tg_state" in s] == []
        # A draft is written, and deleted once it is gone.
        await persistence.update_user_data(7, {"draft": "Ý kiến đang viết"})
        assert await persistence.get_user_data() == {7: {"draft": "Ý kiến đang viết"}}
        await persistence.update_user_data(7, {})
        assert await persistence.get_user_data() == {}
        assert any(s.startswith("DELETE FROM tg_state") for s in seen)

    # Rows saved before a restart are known after it: emptied, they are deleted.
    async with Database(tmp_path / "loa.db") as db:
        await SqlitePersistence(db).update_user_data(8, {"draft": "trước khi khởi động lại"})
    async with Database(tmp_path / "loa.db") as db:
        persistence = SqlitePersistence(db)
        assert await persistence.get_user_data() == {8: {"draft": "trước khi khởi động lại"}}
        await persistence.update_user_data(8, {})
        assert await persistence.get_user_data() == {}


async def _comment(db: Database, user_id: int, text: str) -> int:
    comment = await store.submit(
        db, user_id=user_id, chat_id=user_id, user_name="Dân", article_id=ARTICLE, text=text,
        keep_original=False, now=1_700_000_000 + user_id, per_hour=0, per_day=0, tz=TZ,
    )  # fmt: skip
    return comment.id


async def test_approved_counts_come_from_memory_until_a_moderator_changes_one(
    tmp_path: Path,
) -> None:
    async with Database(tmp_path / "loa.db") as db:
        first = await _comment(db, 1, "Đề nghị sửa đèn đường ngõ 5")
        second = await _comment(db, 2, "Cảm ơn bài viết rất bổ ích")
        assert await store.approved_count(db, ARTICLE) == 0
        seen = await _statements(db)
        assert await store.approved_count(db, ARTICLE) == 0
        assert not [s for s in seen if "COUNT(*) FROM comments" in s]  # from memory

        who = {"actor_id": 9, "actor_role": "moderator", "now": 1_700_000_100}
        await store.decide(db, first, "approved", **who)
        assert await store.approved_count(db, ARTICLE) == 1
        await store.set_answer(db, first, "Đã chuyển điện lực.", **who)
        assert await store.approved_count(db, ARTICLE) == 1  # answered still counts
        await store.decide(db, second, "approved", **who)
        assert await store.approved_count(db, ARTICLE) == 2
        await store.decide(db, first, "rejected", **who)
        assert await store.approved_count(db, ARTICLE) == 1


SOURCE = Path(__file__).resolve().parent.parent / "content" / "articles" / f"{ARTICLE}.md"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def test_a_sync_drops_parsed_articles_even_for_a_read_in_flight(tmp_path: Path) -> None:
    """forget_cached() replaces the map: a read that began before the change cannot put
    the old article back into the map in use."""
    folder = tmp_path / "articles"
    text = SOURCE.read_text(encoding="utf-8")
    _write(folder / SOURCE.name, text)
    async with Database(tmp_path / "loa.db") as db:
        await articles.sync(db, folder, summary_sentences=3, now=1)
        before = await articles.get(db, ARTICLE)
        assert before is not None
        stale_map = db.memo["articles"]
        _write(folder / SOURCE.name, text.replace(before.title, "Tiêu đề đã sửa", 1))
        await articles.sync(db, folder, summary_sentences=3, now=2)
        stale_map[ARTICLE] = before  # what a read that started before the sync would do
        after = await articles.get(db, ARTICLE)
        assert after is not None and after.title == "Tiêu đề đã sửa"
