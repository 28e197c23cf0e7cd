"""Articles end to end through the fake Bot API: /news, /article, full text, search,
inline mode, deep links, bad ids, /reload."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.domain.text import utf16_len
from tests.conftest import ADMIN_ID
from tests.harness import eventually

DATA = Path(__file__).parent / "data" / "articles"
SAMPLE_ID = "2022-04-08-giao-ban-tuyen-giao-quy-i"
REPO_SAMPLE = Path(__file__).parent.parent / "content" / "articles" / f"{SAMPLE_ID}.md"


def _article(folder: Path, slug: str, title: str, date: str, body: str, author: str = "") -> None:
    author_line = f"author: {author}\n" if author else ""
    (folder / f"{slug}.md").write_text(
        f'---\nid: {slug}\ntitle: "{title}"\ndate: {date}\n{author_line}---\n{body}\n',
        encoding="utf-8",
    )


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content" / "articles"
    folder.mkdir(parents=True)
    shutil.copy(REPO_SAMPLE, folder / REPO_SAMPLE.name)
    _article(
        folder,
        "dang-bo-cao-loc",
        "Đảng bộ huyện kết nạp 125 đảng viên",
        "2023-06-25",
        "Ngày 25/6, Đảng bộ huyện Cao Lộc kết nạp 125 đảng viên mới, đạt 62,5% kế hoạch.",
    )
    for i in range(7):
        _article(
            folder,
            f"tin-so-{i}",
            f"Tin thứ {i} về nông nghiệp",
            f"2023-01-{i + 10}",
            f"Nông dân thu hoạch {100 + i} ha lúa xuân. Năng suất đạt 58 tạ/ha.",
        )
    # ~10,000 characters in 40 paragraphs
    paragraphs = [
        f"Đoạn {n}: " + ("Công tác tuyên truyền được triển khai sâu rộng ở cơ sở. " * 4).strip()
        for n in range(1, 41)
    ]
    _article(
        folder,
        "bai-dai",
        "Bài rất dài về công tác tuyên truyền",
        "2020-01-01",
        "\n\n".join(paragraphs),
    )
    (folder / "hong.md").write_text("---\ntitle: thiếu ngày\n", encoding="utf-8")
    return folder


@pytest.fixture
async def running(content: Path, bot_factory):
    return await bot_factory(chat_rate=50, global_rate=200)


async def _fulltext_counted(reads) -> bool:
    row = await reads()
    return row is not None and row[2] == 1


async def _send(fake, chat, user, text: str):
    after = max((m.message_id for m in fake.messages(chat)), default=0)
    fake.send_text(chat, user, text)
    return await fake.wait_for_message(chat, after=after)


async def test_start_indexes_good_files_and_skips_broken(running, fake) -> None:
    svc = running.svc
    count = await svc.db.fetch_value("SELECT COUNT(*) FROM articles")
    assert count == 10  # the broken hong.md is skipped
    assert await svc.features["article_title"](SAMPLE_ID) == (
        "Thành ủy Lạng Sơn: Giao ban công tác tuyên giáo quý I"
    )
    assert await svc.features["article_title"]("khong-co") is None


async def test_news_paging(running, fake) -> None:
    user = fake.user(501, "Lan")
    chat = fake.private_chat(user)
    msg = await _send(fake, chat, user, "/tin")
    assert "trang 1/2" in msg.content and "(10 bài)" in msg.content
    opens = [b for b in msg.buttons if b.get("callback_data", "").startswith("ar:o:")]
    assert len(opens) == 5
    # newest first: the 2023-06-25 article leads
    assert opens[0]["callback_data"] == "ar:o:dang-bo-cao-loc"
    assert any(b.get("callback_data") == "ar:n:1" for b in msg.buttons)
    fake.press_button(chat, user, msg.message_id, "ar:n:1")
    await fake.wait_for(lambda: "trang 2/2" in fake.message(chat, msg.message_id).content)
    page2 = fake.message(chat, msg.message_id)
    assert len([b for b in page2.buttons if b["callback_data"].startswith("ar:o:")]) == 5
    assert any(b.get("callback_data") == "ar:n:0" for b in page2.buttons)
    # open an article from the list
    fake.press_button(chat, user, page2.message_id, f"ar:o:{SAMPLE_ID}")
    card = await fake.wait_for_message(chat, "Giao ban công tác tuyên giáo", after=msg.message_id)
    assert "📰" in card.content


async def test_article_card_and_figures(running, fake) -> None:
    user = fake.user(502, "Minh")
    chat = fake.private_chat(user)
    card = await _send(fake, chat, user, f"/bai {SAMPLE_ID}")
    text = card.content
    assert "Thành ủy Lạng Sơn: Giao ban công tác tuyên giáo quý I" in text
    assert "08/04/2022" in text and "Thanh Mai" in text
    assert "Sáng ngày 8/4, Thành uỷ Lạng Sơn tổ chức hội nghị" in text
    assert "350 buổi" in text and "hơn 12.000 lượt người nghe" in text
    assert "COVID-19" not in text.split("Số liệu chính")[1]
    figure_lines = [ln for ln in text.split("Số liệu chính")[1].splitlines() if ln.startswith("•")]
    assert 1 <= len(figure_lines) <= 6
    data = [b.get("callback_data") for b in card.buttons]
    assert data == [f"ar:f:{SAMPLE_ID}", f"ar:s:{SAMPLE_ID}", f"yk:{SAMPLE_ID}"]
    assert card.buttons[2]["text"].startswith("💬 Ý kiến (")
    assert all(len(d.encode()) <= 64 for d in data)
    fake.press_button(chat, user, card.message_id, f"ar:s:{SAMPLE_ID}")
    figs = await fake.wait_for_message(chat, "Số liệu —", after=card.message_id)
    assert "quý I/2022" in figs.content and "8/4" in figs.content

    async def card_counted() -> bool:
        row = await running.svc.db.fetch_one(
            "SELECT card_opens, fulltext_opens FROM article_reads WHERE article_id = ?",
            (SAMPLE_ID,),
        )
        return row is not None and (row[0], row[1]) == (1, 0)

    await eventually(card_counted)
    # /article alias too
    again = await _send(fake, chat, user, "/article dang-bo-cao-loc")
    assert "125 đảng viên" in again.content


async def test_full_text_is_split_at_paragraphs(running, fake) -> None:
    user = fake.user(503, "Hà")
    chat = fake.private_chat(user)
    card = await _send(fake, chat, user, "/bai bai-dai")
    fake.press_button(chat, user, card.message_id, "ar:f:bai-dai")
    await fake.wait_for(
        lambda: any("(3/3)" in m.content for m in fake.bot_messages(chat)), timeout=10
    )
    parts = [m for m in fake.bot_messages(chat) if m.message_id > card.message_id]
    assert len(parts) == 3
    assert all(utf16_len(m.content) <= 4096 for m in parts)
    assert parts[0].content.startswith("Bài rất dài về công tác tuyên truyền")
    joined = "\n\n".join(m.content.rsplit("\n\n", 1)[0] for m in parts)
    for n in range(1, 41):
        # every paragraph is whole in exactly one part
        assert sum(f"Đoạn {n}: Công tác" in m.content for m in parts) == 1
        assert f"Đoạn {n}: Công tác tuyên truyền" in joined
    for m in parts:
        body = m.content.rsplit("\n\n", 1)[0]
        assert body.rstrip().endswith(("ở cơ sở.", "tuyên truyền")), body[-40:]

    async def reads():
        return await running.svc.db.fetch_one(
            "SELECT day, card_opens, fulltext_opens FROM article_reads WHERE article_id = 'bai-dai'"
        )

    await eventually(lambda: _fulltext_counted(reads))
    row = await reads()
    assert (row[1], row[2]) == (1, 1)
    assert row[0] == dt.datetime.now(running.settings.tz).date().isoformat()


@pytest.mark.parametrize(
    ("query", "expected_id"),
    [
        ("tuyen giao", SAMPLE_ID),
        ("TUYÊN GIÁO", SAMPLE_ID),
        ("thanh uy", SAMPLE_ID),
        ("Thành ủy lạng sơn", SAMPLE_ID),
        ("dang", "dang-bo-cao-loc"),
    ],
)
async def test_search_without_diacritics(running, fake, query: str, expected_id: str) -> None:
    user = fake.user(504, "Tú")
    chat = fake.private_chat(user)
    msg = await _send(fake, chat, user, f"/timkiem {query}")
    assert "Kết quả cho" in msg.content
    ids = [b["callback_data"][5:] for b in msg.buttons if b["callback_data"].startswith("ar:o:")]
    assert expected_id in ids


async def test_search_paging_and_ranking(running, fake) -> None:
    user = fake.user(505, "An")
    chat = fake.private_chat(user)
    msg = await _send(fake, chat, user, "/search lua xuan")
    assert "trang 1/2" in msg.content and "(7 bài)" in msg.content
    ids = [b["callback_data"] for b in msg.buttons if b["callback_data"].startswith("ar:o:")]
    assert len(ids) == 5
    fake.press_button(chat, user, msg.message_id, "ar:q:1:lua+xuan")
    await fake.wait_for(lambda: "trang 2/2" in fake.message(chat, msg.message_id).content)
    page2 = fake.message(chat, msg.message_id)
    ids2 = [b["callback_data"] for b in page2.buttons if b["callback_data"].startswith("ar:o:")]
    assert len(ids2) == 2 and not set(ids) & set(ids2)
    # the title is weighted: the article titled with the words ranks first
    msg = await _send(fake, chat, user, "/search giao ban tuyen giao")
    first = next(b for b in msg.buttons if b["callback_data"].startswith("ar:o:"))
    assert first["callback_data"] == f"ar:o:{SAMPLE_ID}"
    # no article has every word: any-word results, said so
    msg = await _send(fake, chat, user, "/search tuyen giao zzzz")
    assert "một phần từ khóa" in msg.content


@pytest.mark.parametrize(
    ("query", "reply_part"),
    [
        ("", "Gõ từ khóa"),
        ('"***"', "ít nhất một chữ"),
        ("?!...", "ít nhất một chữ"),
        ("x" * 500, "quá dài"),
        ('tuyen" OR "giao NEAR(a b) *', "Kết quả cho"),
        ("zzzkhongcotu", "Không tìm thấy"),
        ("AND OR NOT", "Không tìm thấy"),
    ],
)
async def test_search_absurd_queries(running, fake, query: str, reply_part: str) -> None:
    user = fake.user(506, "Bình")
    chat = fake.private_chat(user)
    msg = await _send(fake, chat, user, f"/timkiem {query}".strip())
    assert reply_part in msg.content


async def test_inline_query(running, fake) -> None:
    user = fake.user(507, "Cúc")
    qid = fake.inline_query(user, "tuyen giao")
    await fake.wait_for(lambda: qid in fake.inline_answers)
    results = fake.inline_answers[qid]["results"]
    assert results and results[0]["type"] == "article"
    first = next(r for r in results if r["id"] == SAMPLE_ID)
    assert "Giao ban công tác tuyên giáo" in first["title"]
    content = first["input_message_content"]
    assert "350 buổi" in content["message_text"] and content["parse_mode"] == "HTML"
    button = first["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"] == f"https://t.me/loa_test_bot?start=a_{SAMPLE_ID}"
    # empty query: latest articles; junk query: no crash, empty list
    qid2 = fake.inline_query(user, "")
    await fake.wait_for(lambda: qid2 in fake.inline_answers)
    assert len(fake.inline_answers[qid2]["results"]) == 10
    qid3 = fake.inline_query(user, '"* NEAR(')
    await fake.wait_for(lambda: qid3 in fake.inline_answers)


async def test_deep_link_and_bad_ids(running, fake) -> None:
    user = fake.user(508, "Dung")
    chat = fake.private_chat(user)
    card = await _send(fake, chat, user, f"/start a_{SAMPLE_ID}")
    assert "Giao ban công tác tuyên giáo quý I" in card.content
    assert any(b.get("callback_data") == f"ar:f:{SAMPLE_ID}" for b in card.buttons)
    missing = await _send(fake, chat, user, "/start a_khong-ton-tai")
    assert "Không tìm thấy bài viết «khong-ton-tai»" in missing.content
    usage = await _send(fake, chat, user, "/bai")
    assert "Cách dùng" in usage.content
    usage = await _send(fake, chat, user, "/bai mot hai")
    assert "Cách dùng" in usage.content
    bad = await _send(fake, chat, user, "/bai <b>x</b>&")
    assert "Không tìm thấy bài viết «<b>x</b>&»" in bad.content
    # a button for an article that was removed
    fake.press_button(chat, user, card.message_id, "ar:f:khong-con", check=False)
    await fake.wait_for(
        lambda: any(
            a.get("text") and "không còn" in a["text"] for a in fake.callback_answers.values()
        )
    )


async def test_reload_reflects_changes(running, fake, content: Path) -> None:
    admin = fake.user(ADMIN_ID, "Admin")
    admin_chat = fake.private_chat(admin)
    stranger = fake.user(509, "Khách")
    stranger_chat = fake.private_chat(stranger)
    refused = await _send(fake, stranger_chat, stranger, "/reload")
    assert "không có quyền" in refused.content
    (content / "tin-so-0.md").unlink()
    _article(content, "tin-so-1", "Tin thứ 1 đã sửa", "2023-01-02", "Nội dung mới có 7 xã.")
    _article(content, "bai-moi", "Bài mới về Thành uỷ", "2024-01-01", "Thành uỷ họp 2 lần.")
    msg = await _send(fake, admin_chat, admin, "/reload")
    assert "Mới: 1 · Sửa: 1 · Gỡ: 1" in msg.content
    assert "hong.md:1:" in msg.content
    svc = running.svc
    assert await svc.features["article_title"]("tin-so-1") == "Tin thứ 1 đã sửa"
    assert await svc.features["article_title"]("tin-so-0") is None
    gone = await _send(fake, admin_chat, admin, "/bai tin-so-0")
    assert "Không tìm thấy" in gone.content
    found = await _send(fake, admin_chat, admin, "/timkiem thanh uy hop")
    assert "bai-moi" in str(found.buttons)
    fts = await svc.db.fetch_value("SELECT COUNT(*) FROM articles_fts")
    assert fts == await svc.db.fetch_value("SELECT COUNT(*) FROM articles") == 10
    audit = await svc.db.fetch_value(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'articles.reload'"
    )
    assert audit == 1


async def test_reload_lists_many_broken_files_in_whole_lines(running, fake, content: Path) -> None:
    # 20 broken files whose names need escaping: the old reply cut the HTML at 4,000
    # characters, inside <code> or "&amp;", and Telegram refused to parse it.
    names = [f"hong-{i:02d}-{'&a' * 90}.md" for i in range(20)]
    for name in names:
        (content / name).write_text("---\ntitle: thiếu ngày\n", encoding="utf-8")
    admin = fake.user(ADMIN_ID, "Admin")
    chat = fake.private_chat(admin)
    after = max((m.message_id for m in fake.messages(chat)), default=0)
    fake.send_text(chat, admin, "/reload")

    def replies():
        return [m for m in fake.bot_messages(chat) if m.message_id > after]

    await eventually(lambda: sum(n in (m.text or "") for m in replies() for n in names) == 20)
    assert len(replies()) >= 2
    for m in replies():
        assert utf16_len(m.text or "") <= 4096
        assert "Đã có lỗi" not in (m.text or "")
    assert "21 tệp lỗi" in replies()[0].text  # hong.md from the fixture as well
    assert any("hong.md:1:" in (m.text or "") for m in replies())


async def test_forged_page_numbers_are_refused(running, fake) -> None:
    user = fake.user(510, "Giang")
    chat = fake.private_chat(user)
    found = await _send(fake, chat, user, "/timkiem tuyen giao")
    huge = "9" * 25  # beyond SQLite's 64-bit integers (OverflowError before the fix)
    qid = fake.press_button(chat, user, found.message_id, f"ar:q:{huge}:tuyen", check=False)
    await fake.wait_for(lambda: qid in fake.callback_answers)
    assert "hết hạn" in fake.callback_answers[qid]["text"]
    qid = fake.press_button(chat, user, found.message_id, f"ar:n:{huge}", check=False)
    await fake.wait_for(lambda: qid in fake.callback_answers)
    assert not fake.callback_answers[qid].get("text")  # clamped to a real page
    # A forged inline offset: answered (from the start), no error.
    qid = fake.inline_query(user, "tuyen giao", offset=huge)
    await fake.wait_for(lambda: qid in fake.inline_answers)
    assert fake.inline_answers[qid]["results"]
