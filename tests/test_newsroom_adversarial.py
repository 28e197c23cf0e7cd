"""The newsroom against adversarial users, end to end through the fake Bot API: forged and
replayed buttons, other people's drafts, huge / empty / NFD / HTML-like text, broken and
oddly encoded files, hostile URLs, junk commands, staff commands in a public group.

Every case must give a clear Vietnamese answer, log no ERROR, lose nothing stored, and
never make the fake Bot API answer 400 (entities, lengths)."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
import zipfile
from typing import Any

import pytest

from bot.actions import fetch as fetch_module
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot
from tests.newsroom_site import NewsSite, sample_articles, to_cp1258
from tests.test_newsroom_e2e import CITIZEN, EDITOR, MODERATOR, _button, _raw_text, _say, _staff

EDITOR_B = 810005
GROUP = -100777000111


def assert_clean(fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR record (no traceback), no call the Bot API refused."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    # 403 is Telegram's answer for users who never opened the bot (role grant notices)
    refused = [c.short() for c in fake.calls if c.status == 400]
    assert not refused, refused


async def _forge(fake: FakeTelegram, user: int, data: str) -> str:
    """`data` sent as a button press on some bot message in the user's own chat (a client
    can put any callback_data on any message it sees); the alert text."""
    chat = fake.private_chat(fake.user(user, f"U{user}"))
    mine = fake.bot_messages(chat)
    if not mine:
        await _say(fake, user, "/start", "")
        mine = fake.bot_messages(chat)
    qid = fake.press_button(chat, user, mine[-1].message_id, data, check=False)
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    return str(fake.callback_answers[qid].get("text") or "")


async def _draft_ids(bot: RunningBot) -> list[tuple[int, str]]:
    rows = await bot.svc.db.fetch_all("SELECT id, state FROM article_drafts ORDER BY id")
    return [(int(r[0]), str(r[1])) for r in rows]


async def test_forged_and_replayed_buttons(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await _staff(fake)
    fake.user(EDITOR_B, "Biên tập B")
    await _say(fake, ADMIN_ID, f"/grant {EDITOR_B} editor", "biên tập viên")
    review = await _say(fake, EDITOR, "/dangbai " + _raw_text(2), "Bản nháp")
    [(d, _)] = await _draft_ids(bot)

    # a citizen and a moderator: no permission at all
    for user in (CITIZEN, MODERATOR):
        for data in (f"nr:pub:{d}", f"nr:drop:{d}", f"nr:ft:{d}:0", f"nr:open:{d}"):
            assert "không có quyền" in await _forge(fake, user, data)
    # another editor: the draft is not theirs (decision: only its author or an admin acts)
    for data in (
        f"nr:pub:{d}",
        f"nr:drop:{d}",
        f"nr:ft:{d}:0",
        f"nr:st:{d}:0",
        f"nr:tp:{d}:-",
        f"nr:title:{d}",
        f"nr:open:{d}",
    ):
        assert "người khác" in await _forge(fake, EDITOR_B, data), data
    listing = await _say(fake, EDITOR_B, "/bannhap", "bản nháp")
    assert f"nr:open:{d}" not in json.dumps(listing.buttons)
    assert await _draft_ids(bot) == [(d, "review")]

    # the author: junk fields get a clear answer
    for data, expect in (
        (f"nr:st:{d}:999", "không có"),
        (f"nr:ft:{d}:x", "không hợp lệ"),
        (f"nr:tp:{d}:<b>", "không có"),
        (f"nr:zz:{d}", "không hợp lệ"),
        ("nr:pub:99999", "Không tìm thấy"),
        ("nr:pub:-1", "hợp lệ"),
        ("nr:nt:a:../../etc", "không hợp lệ"),
        ("nr:nt:a:khong-co-bai", "Không có bài viết"),
        ("nr:rc:<x>", "không hợp lệ"),
        ("nr:", "hợp lệ"),
    ):
        assert expect in await _forge(fake, EDITOR, data), data

    # the owner may act on anyone's draft; publishing twice publishes once
    chat = review.chat_id
    qid = fake.press_button(chat, EDITOR, review.message_id, _button(review, "Đăng"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    choice = await fake.wait_for_message(chat, "Gửi thông báo cho ai", after=review.message_id)
    for data in (f"nr:pub:{d}", f"nr:drop:{d}", f"nr:title:{d}", f"nr:ft:{d}:0"):
        assert "đã được đăng" in await _forge(fake, EDITOR, data), data
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM articles WHERE origin='db'") == 1
    article_id = await bot.svc.db.fetch_value("SELECT id FROM articles WHERE origin='db'")
    # another editor may not announce this editor's article to everyone
    assert "người khác" in await _forge(fake, EDITOR_B, f"nr:nt:a:{article_id}")
    # the author's "nobody", then a replayed "everyone": one answer, no broadcast
    qid = fake.press_button(chat, EDITOR, choice.message_id, _button(choice, "Không gửi"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 0

    # withdrawal belongs to the publisher (or an admin)
    await _say(fake, EDITOR_B, f"/gobai {article_id}", "người khác")
    await _say(fake, EDITOR_B, f"/suabai {article_id}", "Sửa bài")  # corrections: any editor

    # a discarded draft's buttons
    review2 = await _say(fake, EDITOR, "/dangbai " + _raw_text(3), "Bản nháp")
    d2 = max(i for i, _ in await _draft_ids(bot))
    qid = fake.press_button(chat, EDITOR, review2.message_id, _button(review2, "Bỏ"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    for data in (f"nr:pub:{d2}", f"nr:sum:{d2}", f"nr:date:{d2}"):
        assert "đã bỏ" in await _forge(fake, EDITOR, data), data
    assert "đã bỏ" in await _forge(fake, EDITOR, f"nr:drop:{d2}")
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM articles WHERE origin='db'") == 1
    assert_clean(fake, caplog)


async def test_huge_empty_nfd_and_html_text(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await _staff(fake)
    chat = fake.private_chat(fake.user(EDITOR, "Biên tập"))
    # empty [Xong]
    prompt = await _say(fake, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    qid = fake.press_button(chat, EDITOR, prompt.message_id, _button(prompt, "Xong"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    assert "Chưa nhận được nội dung" in fake.callback_answers[qid]["text"]
    # a second /dangbai says what became of the first; [🗑 Bỏ] under the prompt discards
    prompt = await _say(fake, EDITOR, "/dangbai", "chưa xong đã được bỏ")
    prompt = await fake.wait_for_message(chat, "Gửi nội dung bài viết", after=prompt.message_id)
    qid = fake.press_button(chat, EDITOR, prompt.message_id, _button(prompt, "Bỏ"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    assert fake.callback_answers[qid]["text"] == "Đã bỏ bản nháp."
    fake.send_text(chat, EDITOR, "Một dòng lạc sau khi bỏ")
    await fake.wait_for_message(chat, "chưa hiểu", after=prompt.message_id)

    # 100 messages, > 100 KB: all kept
    a = sample_articles()[1]
    paragraph = " ".join(p for x in sample_articles() for p in x.paragraphs)[:1100]
    await _say(fake, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    fake.send_text(chat, EDITOR, a.title)
    for i in range(99):
        fake.send_text(chat, EDITOR, f"Đoạn {i + 1}. {paragraph}")
    ack = await fake.wait_for_message(chat, "Đã nhận 100 tin nhắn", timeout=30)
    qid = fake.press_button(chat, EDITOR, ack.message_id, _button(ack, "Xong"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"], timeout=20)
    await fake.wait_for_message(chat, "Bản nháp", after=ack.message_id, timeout=20)
    body = await bot.svc.db.fetch_value(
        "SELECT body FROM article_drafts WHERE state = 'review' ORDER BY id DESC LIMIT 1"
    )
    assert len(body) > 100_000 and "Đoạn 99." in body and "Đoạn 1." in body

    # NFD text becomes NFC; HTML-like text is shown literally
    title = "Hội nghị <b>tổng kết</b> & khen thưởng <script>"
    nfd = unicodedata.normalize("NFD", title + "\n" + "\n".join(a.paragraphs))
    review = await _say(fake, EDITOR, "/dangbai " + nfd, "Bản nháp")
    stored = await bot.svc.db.fetch_value(
        "SELECT title FROM article_drafts ORDER BY id DESC LIMIT 1"
    )
    assert stored == unicodedata.normalize("NFC", title)
    card = fake.bot_messages(chat)[-2]
    assert card.content.startswith("📰 " + unicodedata.normalize("NFC", title))
    # NFD pieces collected one by one, and an NFD / HTML-like new title
    prompt = await _say(fake, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    fake.send_text(chat, EDITOR, nfd)
    ack = await fake.wait_for_message(chat, "Đã nhận 1 tin nhắn", after=prompt.message_id)
    fake.press_button(chat, EDITOR, ack.message_id, _button(ack, "Xong"))
    review = await fake.wait_for_message(chat, "Bản nháp", after=ack.message_id)
    qid = fake.press_button(chat, EDITOR, review.message_id, _button(review, "Tiêu đề"))
    await fake.wait_for_message(chat, "Gửi tiêu đề mới", after=review.message_id)
    fake.send_text(chat, EDITOR, unicodedata.normalize("NFD", "Tiêu đề <i>mới</i> & đẹp"))
    await fake.wait_for_message(chat, "Bản nháp", after=review.message_id + 1)
    titles = [r[0] for r in await bot.svc.db.fetch_all("SELECT title FROM article_drafts")]
    assert "Tiêu đề <i>mới</i> & đẹp" in titles
    assert all(unicodedata.is_normalized("NFC", t) for t in titles)
    assert_clean(fake, caplog)


def _junk_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("rac.bin", b"\x00\x01 junk " * 100)
        z.writestr("[Content_Types].xml", b"<not-xml")
    return buf.getvalue()


async def test_broken_and_encoded_files(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await _staff(fake)
    chat = fake.private_chat(fake.user(EDITOR, "Biên tập"))
    fake.send_document_from_user(chat, EDITOR, _junk_zip(), "bai.docx")
    await fake.wait_for_message(chat, "bị hỏng")
    fake.send_document_from_user(chat, EDITOR, b"", "rong.txt")
    await fake.wait_for_message(chat, "trống")
    a = sample_articles()[0]
    text = "\n".join([a.title, a.caption, *a.paragraphs])
    encodings = (
        ("cp1258.txt", to_cp1258(text)),
        ("utf16.txt", text.encode("utf-16")),  # with a BOM
        ("utf16le.txt", text.encode("utf-16-le")),  # without
        ("utf16be.txt", text.encode("utf-16-be")),
    )
    for name, data in encodings:
        after = max(m.message_id for m in fake.messages(chat))
        fake.send_document_from_user(chat, EDITOR, data, name)
        await fake.wait_for_message(chat, "Bản nháp", after=after)
        stored = await bot.svc.db.fetch_value(
            "SELECT title FROM article_drafts ORDER BY id DESC LIMIT 1"
        )
        assert stored == a.title, name
    assert_clean(fake, caplog)


async def test_hostile_urls(
    bot_factory: Any,
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = NewsSite()
    await site.start()
    try:
        bot = await bot_factory(fetch_timeout=2)  # LOA_FETCH_ALLOW_PRIVATE unset
        await _staff(fake)
        for url, expect in (
            ("file:///etc/passwd", "http"),
            ("javascript:alert(1)", "http"),
            ("ftp://example.vn/bai.html", "http"),
            ("http://[::1]/", "nội bộ"),
            ("http://2130706433/", "nội bộ"),
            ("http://0x7f.1/", "nội bộ"),
            ("http://localhost./", "nội bộ"),
            ("http://169.254.169.254/latest/meta-data/", "nội bộ"),
        ):
            await _say(fake, EDITOR, f"/dangbai {url}", expect)
        # the test site counts as public; its redirects to private addresses do not
        real_public = fetch_module._public
        monkeypatch.setattr(fetch_module, "_public", lambda a: a == "127.0.0.1" or real_public(a))
        port = site.base.rsplit(":", 1)[1]
        for target in (f"http://127.0.0.2:{port}/", "http://169.254.169.254/", "http://[::1]/"):
            await _say(fake, EDITOR, f"/dangbai {site.url('/den?u=' + target)}", "nội bộ")
        await _say(fake, EDITOR, f"/dangbai {site.url('/vong')}", "chuyển hướng")
        await _say(fake, EDITOR, f"/dangbai {site.url('/50mb.html')}", "quá lớn")
        assert site.streamed < 10_000_000
        await _say(fake, EDITOR, f"/dangbai {site.url('/mai.html')}", "thời gian")
        assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM article_drafts") == 0
        assert site.hits.get("/", 0) == 0
    finally:
        await site.stop()
    assert_clean(fake, caplog)


async def test_junk_commands_and_public_group(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await _staff(fake)
    for text, expect in (
        ("/nguontin them", "Cú pháp"),
        ("/nguontin them rác", "http"),
        ("/nguontin them http://", "không hợp lệ"),
        ("/nguontin them https://" + "a" * 1000 + ".vn/rss", "quá dài"),
        ("/nguontin them http://127.0.0.1/rss", "nội bộ"),
        ("/nguontin them https://baomoi.example.vn/rss chu-de-la", "không có"),
        ("/nguontin them https://baomoi.example.vn/rss a b c", "Cú pháp"),
        ("/nguontin them https://baomoi.example.vn/rss", "Đã thêm"),
        ("/nguontin them https://BaoMoi.example.vn/rss/", "đã có"),
        ("/nguontin tam abc", "không hợp lệ"),
        ("/nguontin xoa 99", "Không có nguồn tin số 99"),
        ("/nguontin xyz", "Cú pháp"),
        ("/suabai", "Cú pháp"),
        ("/suabai khong-co-bai", "Không có bài viết"),
        ("/suabai <script>", "Cú pháp"),
        ("/suabai 2022-04-08-giao-ban-tuyen-giao-quy-i", "Không có bài viết"),
        ("/gobai", "Cú pháp"),
        ("/gobai khong-co-bai", "Không có bài viết"),
        ("/gobai khong-co-bai rac", "thuhoi"),
        ("/gobai a b c", "Cú pháp"),
    ):
        await _say(fake, ADMIN_ID, text, expect)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM feeds") == 1

    # staff commands in a public group: refused there, nothing internal shown
    group = fake.group(GROUP, "Nhóm dân cư", members=[EDITOR, CITIZEN, ADMIN_ID])
    for user, text in (
        (EDITOR, "/dangbai " + _raw_text(2)),
        (EDITOR, "/dangbai"),
        (EDITOR, "/suabai abc"),
        (EDITOR, "/gobai abc"),
        (EDITOR, "/bannhap"),
        (ADMIN_ID, "/nguontin"),
        (CITIZEN, "/dangbai"),
    ):
        before = len(fake.bot_messages(group))
        fake.send_text(group, user, text)
        await fake.wait_for(lambda b=before: len(fake.bot_messages(group)) > b)
    shown = "\n".join(m.content for m in fake.bot_messages(group))
    for secret in ("Bản nháp", "Nguồn tin", "baomoi", "Số liệu", "Gửi nội dung"):
        assert secret not in shown
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM article_drafts") == 0
    # a forged review button pressed in the group
    review = await _say(fake, EDITOR, "/dangbai " + _raw_text(2), "Bản nháp")
    d = await bot.svc.db.fetch_value("SELECT MAX(id) FROM article_drafts")
    last = fake.bot_messages(group)[-1]
    qid = fake.press_button(group, EDITOR, last.message_id, f"nr:sum:{d}", check=False)
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    assert "nhóm quản trị" in fake.callback_answers[qid]["text"]
    assert len(fake.bot_messages(group)) == len([m for m in fake.bot_messages(group)])
    assert review.chat_id != GROUP
    assert_clean(fake, caplog)
