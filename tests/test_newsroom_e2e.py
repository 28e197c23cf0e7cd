"""The newsroom end to end through the fake Bot API: paste → review → fix a figure → publish
with notification → a subscriber gets it once → correct → the copy is edited → withdraw;
Word files, URLs, roles on every step, ids across files and the database, the export."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from bot.cli.newsroom import cmd_export_articles
from bot.domain.articles import load_directory
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, StoredMessage
from tests.harness import RunningBot, eventually
from tests.newsroom_site import NewsSite, rss, sample_articles
from tests.test_newsroom_sources import make_docx

EDITOR = 810001
MODERATOR = 810002
CITIZEN = 810003
READER = 810004


async def _say(fake: FakeTelegram, user: int, text: str, expect: str) -> StoredMessage:
    chat = fake.private_chat(fake.user(user, f"U{user}"))
    after = max([0, *[m.message_id for m in fake.messages(chat)]])
    fake.send_text(chat, user, text)
    return await fake.wait_for_message(chat, expect, after=after)


async def _staff(fake: FakeTelegram) -> None:
    for uid, name in ((EDITOR, "Biên tập"), (MODERATOR, "Kiểm duyệt"), (CITIZEN, "Dân")):
        fake.user(uid, name)
    await _say(fake, ADMIN_ID, f"/grant {EDITOR} editor", "biên tập viên")
    await _say(fake, ADMIN_ID, f"/grant {MODERATOR} moderator", "kiểm duyệt viên")


def _button(msg: StoredMessage, label: str) -> str:
    for b in msg.buttons:
        if label in b["text"]:
            return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in msg.buttons]}")


async def _press(fake: FakeTelegram, user: int, msg: StoredMessage, label: str) -> str:
    qid = fake.press_button(msg.chat_id, user, msg.message_id, _button(msg, label))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    return qid


def _raw_text(index: int) -> str:
    a = sample_articles()[index]
    return "\n".join([a.title, a.caption, *a.paragraphs, a.author, "Ý kiến (0)"])


async def _rows(bot: RunningBot, sql: str, params: tuple = ()) -> list[Any]:
    return list(await bot.svc.db.fetch_all(sql, params))


async def test_paste_review_publish_notify_correct_withdraw(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    await _staff(fake)
    reader_chat = fake.private_chat(fake.user(READER, "Bạn đọc"))
    await _say(fake, READER, "/dangky", "Đã đăng ký")

    # /dangbai, then the article in two messages, then [Xong]
    a = sample_articles()[1]
    chat = fake.private_chat(fake.user(EDITOR, "Biên tập"))
    prompt = await _say(fake, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    lines = [a.title, a.caption, *a.paragraphs, a.author, "Ý kiến (0)"]
    fake.send_text(chat, EDITOR, "\n".join(lines[:4]))
    await fake.wait_for_message(chat, "Đã nhận 1 tin nhắn", after=prompt.message_id)
    fake.send_text(chat, EDITOR, "\n".join(lines[4:]))
    ack = await fake.wait_for_message(chat, "Đã nhận 2 tin nhắn", after=prompt.message_id)
    await _press(fake, EDITOR, ack, "Xong")
    control = await fake.wait_for_message(chat, "Số liệu phát hiện", after=ack.message_id)
    card = fake.bot_messages(chat)[-2]
    assert card.content.startswith(f"📰 {a.title}") and "Số liệu chính" in card.content
    [draft] = await _rows(bot, "SELECT id, figures, body FROM article_drafts WHERE state='review'")
    figures = json.loads(draft[1])
    assert draft[2] == "\n\n".join(a.paragraphs)  # caption, byline and "Ý kiến" not in the body
    assert len(figures) >= 3

    # fix a figure: drop the first one
    await _press(fake, EDITOR, control, "Số liệu sai")
    chooser = await fake.wait_for_message(chat, "Bỏ số liệu sai", after=control.message_id)
    fake.press_button(chat, EDITOR, chooser.message_id, f"nr:ft:{draft[0]}:0")
    await fake.wait_for(lambda: "❌" in fake.message(chat, chooser.message_id).content)
    dropped = await _rows(bot, "SELECT dropped FROM article_drafts WHERE id = ?", (draft[0],))
    assert json.loads(dropped[0][0]) == [0]
    await _press(fake, EDITOR, fake.message(chat, chooser.message_id), "Quay lại thẻ")
    control = await fake.wait_for_message(chat, "(đã bỏ)", after=chooser.message_id)

    # a moderator pressing the editor's [Đăng] is refused; nothing is published
    qid = fake.press_button(chat, MODERATOR, control.message_id, _button(control, "Đăng"))
    await fake.wait_for(lambda: fake.callback_queries[qid]["answered"])
    assert "không có quyền" in fake.callback_answers[qid]["text"]
    assert await _rows(bot, "SELECT id FROM articles WHERE origin = 'db'") == []

    # publish, notify everyone
    await _press(fake, EDITOR, control, "Đăng")
    choice = await fake.wait_for_message(chat, "Gửi thông báo cho ai", after=control.message_id)
    assert any("Không gửi" in b["text"] for b in choice.buttons)
    [(article_id, stored_figures)] = await _rows(
        bot, "SELECT id, figures FROM articles WHERE origin = 'db'"
    )
    assert figures[0] not in json.loads(stored_figures)
    assert len(json.loads(stored_figures)) == len(figures) - 1
    await _press(fake, EDITOR, choice, "Tất cả")
    notice = await fake.wait_for_message(reader_chat, a.title, timeout=8)
    assert f"start=a_{article_id}" in json.dumps(notice.entities)
    await fake.wait_for_message(chat, "Báo cáo gửi", timeout=10)
    copies = [m for m in fake.bot_messages(reader_chat) if a.title in m.content]
    assert len(copies) == 1  # exactly once

    # the reader opens the deep link: the card
    fake.send_text(reader_chat, READER, f"/start a_{article_id}")
    await fake.wait_for_message(reader_chat, "Số liệu chính", after=notice.message_id)

    # correct: /suabai → new title → [Đăng]; the reader's copy is edited
    review = await _say(fake, EDITOR, f"/suabai {article_id}", "Sửa bài")
    await _press(fake, EDITOR, review, "Tiêu đề")
    await fake.wait_for_message(chat, "Gửi tiêu đề mới", after=review.message_id)
    new_title = a.title + " (đính chính)"
    fake.send_text(chat, EDITOR, new_title)
    review2 = await fake.wait_for_message(chat, "Sửa bài", after=review.message_id)
    assert "(đã bỏ)" in review2.content  # the dropped figure stays dropped
    await _press(fake, EDITOR, review2, "Đăng")
    await fake.wait_for_message(chat, "Đã sửa bài", after=review2.message_id)
    await fake.wait_for(
        lambda: "đính chính" in fake.message(reader_chat, notice.message_id).content, timeout=8
    )
    copies = [m for m in fake.bot_messages(reader_chat) if "Đọc bài trên Loa" in m.content]
    assert [m.message_id for m in copies] == [notice.message_id]  # edited, not sent again
    [(title, corrections)] = await _rows(
        bot, "SELECT title, corrections FROM articles WHERE id = ?", (article_id,)
    )
    assert title == new_title and json.loads(corrections)["dropped_figures"]

    # withdraw with recall: the deep link answers, lists and search no longer show it
    await _say(fake, EDITOR, f"/gobai {article_id} thuhoi", "Đã gỡ bài")
    await fake.wait_for(lambda: fake.message(reader_chat, notice.message_id).deleted, timeout=8)
    await _say(fake, READER, f"/start a_{article_id}", "đã được gỡ")
    await _say(fake, READER, "/tin", "Chưa có bài viết nào")
    await _say(fake, READER, f"/timkiem {a.title}", "Không tìm thấy")
    audit = [r[0] for r in await _rows(bot, "SELECT action FROM audit_log ORDER BY id")]
    for action in ("newsroom.publish", "newsroom.correct", "newsroom.withdraw"):
        assert action in audit


async def test_roles_on_every_step(bot: RunningBot, fake: FakeTelegram) -> None:
    await _staff(fake)
    for user in (MODERATOR, CITIZEN):
        await _say(fake, user, "/dangbai", "không có quyền")
        await _say(fake, user, "/suabai abc", "không có quyền")
        await _say(fake, user, "/gobai abc", "không có quyền")
    await _say(fake, EDITOR, "/nguontin", "không có quyền")  # feeds are for admins
    # a citizen's document is not a draft
    citizen = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.send_document_from_user(citizen, CITIZEN, make_docx("Tiêu đề", ["Nội dung."]), "bai.docx")
    await fake.wait_for_message(citizen, "chưa hiểu")
    # an editor's draft: a citizen pressing its buttons is refused at each of them
    review = await _say(fake, EDITOR, "/dangbai " + _raw_text(2), "Bản nháp")
    for label in ("Tiêu đề", "Câu tóm tắt", "Chủ đề", "🗑 Bỏ", "Đăng"):
        qid = fake.press_button(review.chat_id, CITIZEN, review.message_id, _button(review, label))
        await fake.wait_for(lambda q=qid: fake.callback_queries[q]["answered"])
        assert "không có quyền" in fake.callback_answers[qid]["text"]
    assert (await _rows(bot, "SELECT state FROM article_drafts"))[0][0] == "review"
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM articles") == 0


async def test_docx_upload_url_and_refusals(bot: RunningBot, fake: FakeTelegram) -> None:
    await _staff(fake)
    a = sample_articles()[4]
    chat = fake.private_chat(fake.user(EDITOR, "Biên tập"))
    fake.send_document_from_user(
        chat, EDITOR, make_docx(a.title, [a.caption, *a.paragraphs]), "bai viet.docx"
    )
    control = await fake.wait_for_message(chat, "Bản nháp")
    assert "tệp — bai viet.docx" in control.content
    card = fake.bot_messages(chat)[-2]
    assert a.title in card.content
    # other types and sizes: a clear reply, nothing stored
    fake.send_document_from_user(chat, EDITOR, b"%PDF-1.4", "van-ban.pdf")
    await fake.wait_for_message(chat, "Chỉ nhận tệp Word")
    fake.send_document_from_user(chat, EDITOR, b"x" * 6_000_000, "to.txt")
    await fake.wait_for_message(chat, "Tệp quá lớn")
    fake.send_document_from_user(chat, EDITOR, b"PK\x03\x04broken", "hong.docx")
    await fake.wait_for_message(chat, "bị hỏng")
    assert len(await _rows(bot, "SELECT id FROM article_drafts")) == 1
    # a private URL is refused when the setting does not allow it
    await _say(fake, EDITOR, "/dangbai http://127.0.0.1:1/bai.html", "nội bộ")
    # [Bỏ] discards
    await _press(fake, EDITOR, control, "🗑 Bỏ")
    assert (await _rows(bot, "SELECT state FROM article_drafts"))[0][0] == "discarded"


async def test_forwarded_post_starts_a_draft(bot: RunningBot, fake: FakeTelegram) -> None:
    await _staff(fake)
    chat = fake.private_chat(fake.user(EDITOR, "Biên tập"))
    fake.forward_from_channel(chat, EDITOR, _raw_text(3), "Kênh Ban Tuyên giáo")
    ack = await fake.wait_for_message(chat, "Đã nhận 1 tin nhắn")
    await _press(fake, EDITOR, ack, "Xong")
    await fake.wait_for_message(chat, "Bản nháp", after=ack.message_id)
    # a citizen's forwarded post is not a draft
    citizen = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.forward_from_channel(citizen, CITIZEN, _raw_text(3), "Kênh")
    await fake.wait_for_message(citizen, "chưa hiểu")
    assert len(await _rows(bot, "SELECT id FROM article_drafts")) == 1


async def test_ids_unique_across_files_and_export_round_trip(
    bot: RunningBot, fake: FakeTelegram, tmp_path: Path
) -> None:
    await _staff(fake)
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    for _ in range(2):  # the same article twice: two ids
        review = await _say(fake, ADMIN_ID, "/dangbai " + _raw_text(6), "Bản nháp")
        await _press(fake, ADMIN_ID, review, "Đăng")
        choice = await fake.wait_for_message(chat, "Gửi thông báo cho ai", after=review.message_id)
        await _press(fake, ADMIN_ID, choice, "Không gửi")
    ids = [
        r[0] for r in await _rows(bot, "SELECT id FROM articles WHERE origin='db' ORDER BY rowid")
    ]
    assert len(ids) == 2 and ids[1] == ids[0].rsplit("-", 1)[0] + "-2"
    # a file claiming a published id: reported by /reload, the database article stays
    out = tmp_path / "export"
    settings = bot.settings
    args = argparse.Namespace(dir=str(out), all=False, force=False)
    assert await asyncio.to_thread(cmd_export_articles, args, settings) == 0
    exported, errors = load_directory(out)
    assert errors == [] and sorted(x.id for x in exported) == sorted(ids)
    article = await bot.svc.db.fetch_one("SELECT title, body FROM articles WHERE id = ?", (ids[0],))
    first = next(x for x in exported if x.id == ids[0])
    assert first.title == article[0] and first.body == article[1]
    folder = settings.content_dir / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ids[0]}.md").write_text((out / f"{ids[0]}.md").read_text(encoding="utf-8"))
    reply = await _say(fake, ADMIN_ID, "/reload", "Đã nạp lại")
    await fake.wait_for(
        lambda: (
            "already used by an article published from Telegram"
            in "\n".join(
                m.content for m in fake.bot_messages(chat) if m.message_id >= reply.message_id
            )
        )
    )
    assert len(await _rows(bot, "SELECT id FROM articles WHERE id = ?", (ids[0],))) == 1


async def test_url_and_feed_through_the_bot(bot_factory: Any, fake: FakeTelegram) -> None:
    site = NewsSite()
    await site.start()
    try:
        bot = await bot_factory(fetch_allow_private=True, feed_interval=1)
        await _staff(fake)
        a = site.articles[7]
        # /dangbai <url>: the page is fetched and extracted
        control = await _say(
            fake, EDITOR, f"/dangbai {site.url(f'/bai/{a.slug}.html')}", "Bản nháp"
        )
        assert "trang web" in control.content
        assert a.title in fake.bot_messages(control.chat_id)[-2].content
        await _say(fake, EDITOR, f"/dangbai {site.url('/van-ban.pdf')}", "không phải trang web")
        # /nguontin them: the worker polls it, tells the owners, the draft opens from the button
        site.feeds["/rss.xml"] = rss(
            site.base, [("g1", site.url(f"/bai/{site.articles[8].slug}.html"), "T", "ngắn")]
        )
        owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
        await _say(
            fake, ADMIN_ID, f"/nguontin them {site.url('/rss.xml')} kinh-te-xa-hoi", "Đã thêm"
        )
        notice = await fake.wait_for_message(owner, "bản nháp mới", timeout=8)
        await _press(fake, ADMIN_ID, notice, "Xem bản nháp")
        review = await fake.wait_for_message(owner, "nguồn tin RSS", after=notice.message_id)
        assert "kinh-te-xa-hoi" in review.content
        listing = await _say(fake, ADMIN_ID, "/nguontin", "Nguồn tin")
        assert "đang theo dõi, duyet, chủ đề kinh-te-xa-hoi" in listing.content
        await _say(fake, ADMIN_ID, "/nguontin tam 1", "Đã tạm dừng")
        await _say(fake, ADMIN_ID, "/nguontin them ftp://x", "http")
        await _say(fake, ADMIN_ID, "/nguontin xoa 99", "Không có nguồn tin số 99")
        drafts = await bot.svc.db.fetch_value("SELECT COUNT(*) FROM article_drafts")
        assert drafts == 2
    finally:
        await site.stop()


async def test_failing_feed_is_paused_and_admins_told(bot_factory: Any, fake: FakeTelegram) -> None:
    site = NewsSite()
    await site.start()
    try:
        bot = await bot_factory(fetch_allow_private=True, feed_interval=1)
        owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
        site.feeds["/hong.xml"] = "<rss><channel><item><title>Bài bị cắt giữa chừng"
        await _say(fake, ADMIN_ID, f"/nguontin them {site.url('/hong.xml')}", "Đã thêm")
        worker = bot.svc.features["feeds"]
        for n in range(1, 6):

            async def failed(n: int = n) -> bool:
                value = await bot.svc.db.fetch_value("SELECT failures FROM feeds")
                return int(value) >= n

            await eventually(failed, timeout=8)
            await bot.svc.db.execute("UPDATE feeds SET next_poll_at = 0")
            worker.wake()
        notice = await fake.wait_for_message(owner, "đã tạm dừng", timeout=8)
        assert "/nguontin tiep 1" in notice.content
        assert await bot.svc.db.fetch_value("SELECT state FROM feeds") == "paused"
        assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM article_drafts") == 0
    finally:
        await site.stop()
