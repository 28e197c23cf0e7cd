"""Search ranks only the newest RANK_WINDOW matches (issue 17); every match is still
counted and reachable, page after page, exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import articles as store
from bot.store.db import Database


def _write(folder: Path, n: int, title: str, body: str) -> None:
    slug = f"2022-01-{n:02d}-bai-{n}"
    (folder / f"{slug}.md").write_text(
        f'---\nid: {slug}\ntitle: "{title}"\ndate: 2022-01-{n:02d}\n---\n{body}\n',
        encoding="utf-8",
    )


async def test_window_ranks_newest_matches_and_pages_cover_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(1, 13):
        # article 11 has the word in its title (ranked first inside the window);
        # article 2 too, but it is older than the window.
        title = "Hội nghị tuyên giáo" if n in (2, 11) else f"Tin số {n}"
        _write(folder, n, title, f"Đoạn văn số {n} về công tác tuyên giáo ở cơ sở.")
    _write(folder, 20, "Không liên quan", "Nội dung khác hẳn.")
    monkeypatch.setattr(store, "RANK_WINDOW", 4)
    async with Database(tmp_path / "loa.db") as db:
        await store.sync(db, folder, summary_sentences=2, now=0)
        first = await store.search(db, "tuyen giao", limit=3)
        assert first.total == 12 and not first.approximate
        # the window = the 4 newest matches (12, 11, 10, 9): the title match first
        assert first.results[0].id == "2022-01-11-bai-11"
        seen: list[str] = []
        for offset in range(0, 15, 3):
            page = await store.search(db, "tuyen giao", limit=3, offset=offset)
            seen += [r.id for r in page.results]
        assert len(seen) == 12 and len(set(seen)) == 12
        assert set(seen[:4]) == {f"2022-01-{n:02d}-bai-{n}" for n in (9, 10, 11, 12)}
        # after the window: older matches, newest first
        assert seen[4:] == [f"2022-01-{n:02d}-bai-{n}" for n in range(8, 0, -1)]
        # a forged offset that straddles the window's edge still gives whole pages
        odd = await store.search(db, "tuyen giao", limit=3, offset=3)
        assert [r.id for r in odd.results] == [seen[3], seen[4], seen[5]]
        monkeypatch.setattr(store, "RANK_WINDOW", 300)
        everything = await store.search(db, "tuyen giao", limit=20)
        assert {r.id for r in everything.results[:2]} == {
            "2022-01-02-bai-2",
            "2022-01-11-bai-11",
        }  # fewer matches than the window: all ranked, both title matches on top


async def test_repeated_search_is_answered_again_after_the_index_changes(tmp_path: Path) -> None:
    """Counts and ranked windows are kept in memory per query; a sync must drop them."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(1, 4):
        _write(folder, n, f"Tin số {n}", f"Đoạn văn số {n} về đường giao thông nông thôn.")
    async with Database(tmp_path / "loa.db") as db:
        await store.sync(db, folder, summary_sentences=2, now=0)
        before = await store.search(db, "duong giao thong", limit=5)
        assert before.total == 3 and (await store.search(db, "duong giao thong", limit=5)) == before
        _write(folder, 4, "Đường giao thông mới", "Khánh thành đường giao thông liên xã.")
        (folder / "2022-01-01-bai-1.md").unlink()
        await store.sync(db, folder, summary_sentences=2, now=0)
        after = await store.search(db, "duong giao thong", limit=5)
        assert after.total == 3
        assert after.results[0].id == "2022-01-04-bai-4"  # title match ranked first
        assert "2022-01-01-bai-1" not in {r.id for r in after.results}


async def test_typed_prefix_needs_three_letters(tmp_path: Path) -> None:
    """Search-as-you-type: the last word matches longer words from MIN_PREFIX letters on;
    a shorter one is matched as a whole word (a prefix index would be needed, issue 17)."""
    folder = tmp_path / "articles"
    folder.mkdir()
    _write(folder, 1, "Giao ban quý I", "Hội nghị giao ban công tác tuyên giáo quý I.")
    _write(folder, 2, "Giáo dục", "Tuyên truyền về giáo dục ở trường học.")
    _write(folder, 3, "Tin khác", "Tuyên dương tập thể có thành tích.")
    async with Database(tmp_path / "loa.db") as db:
        await store.sync(db, folder, summary_sentences=2, now=0)
        tuyen = await store.search(db, "tuy", limit=5, prefix=True)
        assert tuyen.total == 3  # tuyên, tuyên truyền, tuyên dương
        # "tu" is a word of its own (tư): not a prefix of tuyên
        assert (await store.search(db, "tu", limit=5, prefix=True)).total == 0
        # "I" as the last word: the roman numeral, not every word starting with i
        page = await store.search(db, "giao ban quy I", limit=5, prefix=True)
        assert [r.id for r in page.results] == ["2022-01-01-bai-1"] and not page.approximate
        assert store.match_expression(["quy", "i"], prefix=True) == '"quy" "i"'
        assert store.match_expression(["giao", "tuy"], prefix=True) == '"giao" "tuy"*'
