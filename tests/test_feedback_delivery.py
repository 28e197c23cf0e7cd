"""Moderators' answers are durable: stored first, delivered by the worker, retried on
passing failures (and at the next start), and the moderator is told the outcome."""

from __future__ import annotations

from typing import Any

import pytest

from bot.handlers import moderation as handlers
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import stop_bot
from tests.test_feedback_e2e import (
    ADMIN_CHAT,
    _after,
    _comments,
    _notice,
    _start,
    _submit,
    confirm_answer,
)

CITIZEN = 6001


async def _answer(fake: FakeTelegram, comment_id: int, text: str) -> None:
    notice = await _notice(fake, comment_id)
    fake.send_text(ADMIN_CHAT, fake.users[ADMIN_ID], text, reply_to=notice)
    await confirm_answer(fake, ADMIN_CHAT, ADMIN_ID)


def _delivered(fake: FakeTelegram, chat: int, text: str) -> list[Any]:
    return [m for m in fake.bot_messages(chat) if m.text and text in m.text]


async def test_answer_is_retried_after_network_errors(
    fake: FakeTelegram, bot_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "ANSWER_RETRY_DELAYS", (0.2, 0.2, 0.2))
    bot = await _start(bot_factory, fake)
    lan = fake.user(CITIZEN, "Lan")
    chat = fake.private_chat(lan)
    await _submit(fake, lan, "Đề nghị sửa đèn đường ngõ 5 phố Huế")
    # The first two tries fail as a timeout/5xx would (PTB: NetworkError).
    fake.add_fault(Fault.server_error(502), method="sendMessage", chat_id=CITIZEN, times=2)
    before = _after(chat, fake)
    await _answer(fake, 1, "Phường sẽ sửa trong tuần này.")
    await fake.wait_for_message(ADMIN_CHAT, contains="Loa sẽ tự động gửi lại")
    await fake.wait_for_message(chat, contains="Phường sẽ sửa", after=before)
    done = await fake.wait_for_message(ADMIN_CHAT, contains="Đã gửi câu trả lời")
    assert "#1 (sau 2 lần thử lại)" in done.text
    row = (await _comments(bot))[0]
    assert row["status"] == "answered" and row["answer_delivered_at"] is not None
    assert row["answer_attempts"] == 2 and row["answer_failed"] is None
    assert len(_delivered(fake, CITIZEN, "Phường sẽ sửa")) == 1  # exactly once


async def test_undelivered_answer_is_sent_at_the_next_start(
    fake: FakeTelegram, bot_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "ANSWER_RETRY_DELAYS", (3600,))  # no retry in this run
    bot = await _start(bot_factory, fake)
    lan = fake.user(CITIZEN, "Lan")
    chat = fake.private_chat(lan)
    await _submit(fake, lan, "Khi nào phường tổ chức tiêm chủng đợt hai?")
    fake.add_fault(Fault.server_error(503), method="sendMessage", chat_id=CITIZEN, times=1)
    await _answer(fake, 1, "Thứ Bảy này tại trạm y tế phường.")
    await fake.wait_for_message(ADMIN_CHAT, contains="chưa gửi được")
    row = (await _comments(bot))[0]
    assert row["answer"] and row["answer_delivered_at"] is None and row["answer_attempts"] == 1
    assert not _delivered(fake, CITIZEN, "Thứ Bảy này")
    await stop_bot(bot)

    again = await _start(bot_factory, fake)  # same database file
    await fake.wait_for_message(chat, contains="Thứ Bảy này tại trạm y tế")
    await fake.wait_for_message(ADMIN_CHAT, contains="Đã gửi câu trả lời cho người gửi ý kiến #1")
    row = (await _comments(again))[0]
    assert row["answer_delivered_at"] is not None
    assert len(_delivered(fake, CITIZEN, "Thứ Bảy này")) == 1


async def test_blocked_citizen_moderator_is_told(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake)
    lan = fake.user(CITIZEN, "Lan")
    await _submit(fake, lan, "Đề nghị thêm thùng rác ở chợ Đồng Xuân")
    fake.user_blocked_bot(lan)
    await _answer(fake, 1, "Ban quản lý chợ đã bổ sung 10 thùng.")
    told = await fake.wait_for_message(ADMIN_CHAT, contains="Không gửi được câu trả lời")
    assert "người gửi đã chặn Loa" in told.text and "#1" in told.text
    row = (await _comments(bot))[0]
    assert row["answer_failed"] == "blocked" and row["answer_delivered_at"] is None
    assert row["answer"] == "Ban quản lý chợ đã bổ sung 10 thùng."  # kept


async def test_retries_are_bounded(
    fake: FakeTelegram, bot_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers, "ANSWER_RETRY_DELAYS", (0.1, 0.1))
    bot = await _start(bot_factory, fake)
    lan = fake.user(CITIZEN, "Lan")
    await _submit(fake, lan, "Đề nghị lắp biển báo ở ngã tư")
    fake.add_fault(Fault.server_error(502), method="sendMessage", chat_id=CITIZEN, times=None)
    await _answer(fake, 1, "Sở Giao thông đã nhận đề nghị.")
    told = await fake.wait_for_message(ADMIN_CHAT, contains="sau 3 lần thử")
    assert "#1" in told.text
    row = (await _comments(bot))[0]
    assert row["answer_failed"] == "gave_up" and row["answer_attempts"] == 3
