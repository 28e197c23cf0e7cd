"""Issue 10, item 2 for the flows that were outside the dialog registry: /dangbai (the
newsroom), /baocao (session reports) and casework's answer prompt and preview. Each lapses
with a notice, takes in groups only replies to its prompt, ends with /huy, survives a
restart, and a prompt of another feature ends the older dialog (and says so)."""

from __future__ import annotations

import time
from typing import Any

from bot.actions import feedback as feedback_actions
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, StoredMessage
from tests.harness import RunningBot, eventually, stop_bot
from tests.test_casework_e2e import ADMIN_CHAT as FORUM
from tests.test_casework_e2e import MOD_ID, _press
from tests.test_casework_e2e import _start as start_casework

EDITOR = 830001
REPORTER = 830002
CITIZEN = 830003
ADMIN_GROUP = -1008300
ARTICLE = (
    "Hội nghị tổng kết công tác tuyên giáo năm 2026\n"
    "Sáng 4/12, Ban Tuyên giáo tổ chức hội nghị tổng kết với 120 đại biểu tham dự."
)


def _last(fake: FakeTelegram, chat: Any) -> int:
    return max([0, *[m.message_id for m in fake.messages(chat)]])


async def _say(fake: FakeTelegram, chat: Any, user: int, text: str, expect: str) -> StoredMessage:
    after = _last(fake, chat)
    fake.send_text(chat, user, text)
    return await fake.wait_for_message(chat, expect, after=after)


async def _quiet(fake: FakeTelegram, chat: Any, user: int, after: int) -> list[str]:
    """What the bot said since `after`, once /help's answer shows every earlier update
    of this chat was handled."""
    fake.send_text(chat, user, "/help")
    await fake.wait_for_message(chat, "Các lệnh của Loa", after=after)
    return [m.content for m in fake.bot_messages(chat) if m.message_id > after]


async def _editor_bot(bot_factory: Any, fake: FakeTelegram, **settings: Any) -> RunningBot:
    bot = await bot_factory(admin_chat_id=ADMIN_GROUP, **settings)
    await bot.svc.db.execute(
        "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
        " VALUES (?, 'editor', ?, 0)",
        (EDITOR, ADMIN_ID),
    )
    fake.private_chat(fake.user(EDITOR, "Biên tập"))
    fake.user(ADMIN_ID, "Chủ")
    fake.group(ADMIN_GROUP, "Ban Tuyên giáo", admins=[ADMIN_ID], members=[EDITOR])
    return bot


async def _draft_states(bot: RunningBot) -> list[str]:
    rows = await bot.svc.db.fetch_all("SELECT state FROM article_drafts ORDER BY id")
    return [r[0] for r in rows]


# --- /dangbai ----------------------------------------------------------------------------------


async def test_dangbai_lapses_with_a_notice_and_takes_nothing_after(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _editor_bot(bot_factory, fake, conversation_timeout=0.6)
    prompt = await _say(fake, EDITOR, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    lapsed = await fake.wait_for_message(EDITOR, "Đã hết thời gian chờ", after=prompt.message_id)
    assert "soạn bài" in lapsed.content
    await eventually(lambda: _draft_states(bot), timeout=3)
    assert await _draft_states(bot) == ["discarded"]  # nothing half-collected is kept
    after = _last(fake, EDITOR)
    fake.send_text(EDITOR, EDITOR, ARTICLE)
    said = await _quiet(fake, EDITOR, EDITOR, after)
    assert not any("Đã nhận" in t for t in said), said
    assert any("Tôi chưa hiểu" in t for t in said), said


async def test_dangbai_in_the_admin_group_takes_only_replies_and_ends_with_huy(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _editor_bot(bot_factory, fake)
    prompt = await _say(fake, ADMIN_GROUP, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    assert any("Xong" in b["text"] for b in prompt.buttons)
    after = _last(fake, ADMIN_GROUP)
    fake.send_text(ADMIN_GROUP, EDITOR, "Chiều nay ai đi họp giao ban?")  # chatter
    said = await _quiet(fake, ADMIN_GROUP, EDITOR, after)
    assert not any("Đã nhận" in t for t in said), said
    after = _last(fake, ADMIN_GROUP)
    fake.send_text(ADMIN_GROUP, EDITOR, ARTICLE, reply_to=prompt)
    ack = await fake.wait_for_message(ADMIN_GROUP, "Đã nhận", after=after)
    assert "Đã nhận 1 tin nhắn" in ack.content, ack.content
    # The acknowledgement is a prompt too: a reply to it adds the next piece.
    fake.send_text(ADMIN_GROUP, EDITOR, "Hội nghị đề ra 5 nhiệm vụ trọng tâm.", reply_to=ack)
    await fake.wait_for_message(ADMIN_GROUP, "Đã nhận 2 tin nhắn", after=ack.message_id)
    await _say(fake, ADMIN_GROUP, EDITOR, "/huy", "Đã hủy: soạn bài")
    assert await _draft_states(bot) == ["discarded"]
    after = _last(fake, ADMIN_GROUP)
    fake.send_text(ADMIN_GROUP, EDITOR, "Phần bổ sung", reply_to=prompt)
    said = await _quiet(fake, ADMIN_GROUP, EDITOR, after)
    assert not any("Đã nhận" in t for t in said), said
    pieces = await bot.svc.db.fetch_value("SELECT pieces FROM article_drafts WHERE id = 1")
    assert "Chiều nay" not in str(pieces) and "Phần bổ sung" not in str(pieces)


async def test_another_features_prompt_ends_the_open_dialog_and_says_so(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _editor_bot(bot_factory, fake)
    await _say(fake, EDITOR, EDITOR, "/dangbai", "Gửi nội dung bài viết")
    ask = await _say(fake, EDITOR, EDITOR, "/thongbao", "Gửi nội dung thông báo")
    assert "Việc đang dở «soạn bài (bản nháp #1)» đã dừng" in ask.content, ask.content
    await eventually(lambda: _draft_states(bot), timeout=3)
    assert await _draft_states(bot) == ["discarded"]
    await _say(fake, EDITOR, EDITOR, "Họp chi bộ ngày 10/12", "Số cuộc trò chuyện sẽ nhận")
    after = _last(fake, EDITOR)
    fake.send_text(EDITOR, EDITOR, ARTICLE)  # neither dialog is open any more
    said = await _quiet(fake, EDITOR, EDITOR, after)
    assert not any("Đã nhận" in t for t in said), said


# --- /baocao -----------------------------------------------------------------------------------


async def test_baocao_ends_with_huy_and_survives_a_restart(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory()
    fake.private_chat(fake.user(REPORTER, "Cán bộ"))
    await _say(fake, REPORTER, REPORTER, "/baocao", "1/6")
    await _say(fake, REPORTER, REPORTER, "/huy", "Đã hủy: báo cáo buổi tuyên truyền")
    after = _last(fake, REPORTER)
    fake.send_text(REPORTER, REPORTER, "01/12/2026")
    said = await _quiet(fake, REPORTER, REPORTER, after)
    assert not any("2/6" in t or "3/6" in t for t in said), said
    # A form half filled in is still there after a restart.
    await _say(fake, REPORTER, REPORTER, "/baocao", "1/6")
    await stop_bot(bot)
    await bot_factory()  # the same database file
    await _say(fake, REPORTER, REPORTER, "01/12/2026", "2/6")


async def test_baocao_lapses_with_a_notice(bot_factory: Any, fake: FakeTelegram) -> None:
    await bot_factory(conversation_timeout=0.6)
    fake.private_chat(fake.user(REPORTER, "Cán bộ"))
    ask = await _say(fake, REPORTER, REPORTER, "/baocao", "1/6")
    await fake.wait_for_message(REPORTER, "Đã hết thời gian chờ", after=ask.message_id)
    qid = fake.press_button(REPORTER, REPORTER, ask.message_id, "bcao:d:hom nay")
    await eventually(lambda: qid in fake.callback_answers)
    assert "Phiếu này đã kết thúc" in fake.callback_answers[qid]["text"]


# --- casework ------------------------------------------------------------------------------------


async def _case_in_topic(bot: RunningBot, fake: FakeTelegram) -> tuple[StoredMessage, int]:
    """A citizen's comment routed to its category's topic: (the notice, the topic id)."""
    lan = fake.user(CITIZEN, "Lan")
    chat = fake.private_chat(lan)
    preview = await _say(
        fake, chat, CITIZEN, "/ykien Ngõ 12 phố Huế mất đèn chiếu sáng đã một tuần", "Xem lại"
    )
    await _press(fake, chat, lan, preview, "giao thông")
    qid = fake.press_button(chat, lan, preview.message_id, "ykc:s")
    await eventually(lambda: qid in fake.callback_answers)
    found: list[StoredMessage] = []

    def notice() -> bool:
        topic = fake.topic_by_name(FORUM, "Ý kiến: giao thông")
        if topic is None:
            return False
        found[:] = [
            m
            for m in fake.topic_messages(FORUM, topic.message_thread_id)
            if "Ý kiến #1" in m.content and m.buttons
        ]
        return bool(found)

    await eventually(notice)
    assert found[0].thread_id is not None
    return found[0], found[0].thread_id


async def _ask_for_answer(fake: FakeTelegram, mod: Any, notice: StoredMessage) -> StoredMessage:
    """[🗂 Hồ sơ] → [📝 Mẫu trả lời] → [✍️ Tự soạn] on a case notice: casework's answer prompt."""
    after = _last(fake, FORUM)
    await _press(fake, FORUM, mod, notice, "Hồ sơ")
    card = await fake.wait_for_message(FORUM, "Hồ sơ ý kiến #1", after=after)
    await _press(fake, FORUM, mod, card, "Mẫu trả lời")
    offer = await fake.wait_for_message(FORUM, "tự soạn", after=card.message_id)
    await _press(fake, FORUM, mod, offer, "Tự soạn")
    ask = await fake.wait_for_message(FORUM, "nội dung câu trả lời", after=offer.message_id)
    return ask


async def test_casework_answer_stays_in_its_topic_and_ends_with_huy(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await start_casework(bot_factory, fake)
    mod = fake.users[MOD_ID]
    notice, topic = await _case_in_topic(bot, fake)
    # The comment is sent: its dialog ended with it (no "đã hết thời gian chờ" minutes later).
    assert bot.svc.features["dialogs"].get(CITIZEN, CITIZEN, time.time()) is None
    # [💬 Trả lời] on the notice: the prompt is in the case's topic, not in General.
    after = _last(fake, FORUM)
    await _press(fake, FORUM, mod, notice, "Trả lời")
    prompt = await fake.wait_for_message(FORUM, "trả lời (reply)", after=after)
    assert prompt.thread_id == topic
    # [🗂 Hồ sơ] → [📝 Mẫu trả lời] → [✍️ Tự soạn]: the casework prompt replaces it, says so.
    ask = await _ask_for_answer(fake, mod, notice)
    assert ask.thread_id == topic
    assert "Việc đang dở «trả lời ý kiến #1» đã dừng" in ask.content
    # Chatter in the topic is not an answer; a reply to the prompt is previewed first.
    after = _last(fake, FORUM)
    fake.send_text(FORUM, mod, "Ai trực tối nay?", thread_id=topic)
    fake.send_text(FORUM, mod, "Phường đã thay bóng đèn ngõ 12.", reply_to=ask)
    preview = await fake.wait_for_message(FORUM, "Xem trước câu trả lời", after=after)
    assert "thay bóng đèn" in preview.content and "Ai trực" not in preview.content
    assert preview.thread_id == topic
    # /huy ends it: [Gửi trả lời] under the preview then sends nothing.
    await _say(fake, FORUM, MOD_ID, "/huy", "Đã hủy: trả lời ý kiến #1")
    answer = await _press(fake, FORUM, mod, preview, "Gửi trả lời")
    assert answer["show_alert"]
    assert await bot.svc.db.fetch_value("SELECT answer FROM comments WHERE id = 1") is None
    # A reply to the prompt after /huy is not taken either.
    after = _last(fake, FORUM)
    fake.send_text(FORUM, mod, "Câu trả lời muộn", reply_to=ask)
    said = await _quiet(fake, FORUM, MOD_ID, after)
    assert not any("Xem trước câu trả lời" in t for t in said), said
    assert not any("Câu trả lời muộn" in m.content for m in fake.bot_messages(CITIZEN))


async def test_casework_answer_prompt_lapses_with_a_notice_in_its_topic(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await start_casework(bot_factory, fake)
    mod = fake.users[MOD_ID]
    notice, topic = await _case_in_topic(bot, fake)
    # Short from now on only: the citizen's steps above must not lapse on a loaded machine.
    bot.svc.features["dialogs"].timeout = 0.5
    ask = await _ask_for_answer(fake, mod, notice)
    lapsed = await fake.wait_for_message(FORUM, "Đã hết thời gian chờ", after=ask.message_id)
    assert lapsed.thread_id == topic and "trả lời ý kiến #1" in lapsed.content
    after = _last(fake, FORUM)
    fake.send_text(FORUM, mod, "Phường đã thay bóng đèn.", reply_to=ask)
    said = await _quiet(fake, FORUM, MOD_ID, after)
    assert not any("Xem trước câu trả lời" in t for t in said), said


async def test_casework_preview_is_not_sent_when_someone_answered_meanwhile(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await start_casework(bot_factory, fake)
    mod = fake.users[MOD_ID]
    notice, _topic = await _case_in_topic(bot, fake)
    ask = await _ask_for_answer(fake, mod, notice)
    fake.send_text(FORUM, mod, "Phường sẽ thay bóng đèn trong tuần.", reply_to=ask)
    preview = await fake.wait_for_message(FORUM, "Xem trước câu trả lời", after=ask.message_id)
    # Another moderator answers the citizen while Tuấn looks at his preview.
    await feedback_actions.answer(
        bot.svc, 1, "Đèn đã được thay sáng nay.", actor_id=ADMIN_ID, answered_in=FORUM
    )
    await fake.wait_for_message(CITIZEN, "Đèn đã được thay sáng nay")
    answer = await _press(fake, FORUM, mod, preview, "Gửi trả lời")
    assert answer["show_alert"] and "đã thay đổi" in answer["text"], answer
    stored = await bot.svc.db.fetch_value("SELECT answer FROM comments WHERE id = 1")
    assert stored == "Đèn đã được thay sáng nay."
    assert not any("trong tuần" in m.content for m in fake.bot_messages(CITIZEN))
