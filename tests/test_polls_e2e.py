"""Polls end to end through the fake Bot API: /khaosat, native polls through the outbox,
answers per voter and anonymous totals combined across chats, closing at the deadline
(stopPoll through the outbox), results, exports and /forgetme."""

from __future__ import annotations

import io

import openpyxl

from bot.domain import clock
from bot.store import polls as store
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

CITIZENS = [810100 + i for i in range(6)]


async def _subscribers(fake: FakeTelegram) -> list[int]:
    for uid in CITIZENS:
        chat = fake.private_chat(fake.user(uid, f"Dân {uid}"))
        fake.send_text(chat, uid, "/dangky")
        await fake.wait_for_message(chat, "Đã đăng ký")
    return CITIZENS


async def _create_and_send(fake: FakeTelegram, text: str) -> tuple[int, int]:
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(owner, ADMIN_ID, text)
    control = await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận")
    go = next(
        b["callback_data"] for b in control.buttons if b["callback_data"].startswith("bc:go:")
    )
    fake.press_button(owner, ADMIN_ID, control.message_id, go)
    return owner.id, int(go.split(":")[2])


async def test_poll_sent_answered_closed_and_exported(bot: RunningBot, fake: FakeTelegram) -> None:
    await _subscribers(fake)
    owner, _bid = await _create_and_send(
        fake,
        "/khaosat Bạn biết chủ trương mới qua kênh nào?\n- Loa phát thanh\n- Mạng xã hội\n"
        "- Họp tổ dân phố\nchọn nhiều\ncông khai\nhạn: 2 ngày",
    )
    await fake.wait_for(lambda: all(fake.poll_messages(c) for c in CITIZENS), timeout=10)
    polls_sent = [fake.poll_messages(c)[0] for c in CITIZENS]
    native = polls_sent[0].extra["poll"]
    assert native["question"] == "Bạn biết chủ trương mới qua kênh nào?"
    assert [o["text"] for o in native["options"]] == [
        "Loa phát thanh",
        "Mạng xã hội",
        "Họp tổ dân phố",
    ]
    assert native["is_anonymous"] is False and native["allows_multiple_answers"] is True
    # answers: four voters, one changes their mind, one retracts
    fake.vote(CITIZENS[0], CITIZENS[0], polls_sent[0].message_id, [0])
    fake.vote(CITIZENS[1], CITIZENS[1], polls_sent[1].message_id, [0, 1])
    fake.vote(CITIZENS[2], CITIZENS[2], polls_sent[2].message_id, [2])
    fake.vote(CITIZENS[2], CITIZENS[2], polls_sent[2].message_id, [1])
    fake.vote(CITIZENS[3], CITIZENS[3], polls_sent[3].message_id, [2])
    fake.vote(CITIZENS[3], CITIZENS[3], polls_sent[3].message_id, [])
    db = bot.svc.db
    poll = (await store.recent_polls(db, 1))[0]

    async def voters(n: int) -> bool:
        return (await store.results(db, poll)).voters == n

    await eventually(lambda: voters(3))
    results = await store.results(db, poll)
    assert results.counts == (2, 2, 0) and results.chats == len(CITIZENS)
    # live results for staff
    fake.send_text(owner, ADMIN_ID, f"/ketqua {poll.id}")
    live = await fake.wait_for_message(owner, "Kết quả khảo sát")
    assert "đang diễn ra" in live.content and "Số người trả lời: 3" in live.content
    # the deadline comes: the closer stops the poll in every chat through the outbox
    await db.execute("UPDATE polls SET closes_at = ? WHERE id = ?", (clock.now(), poll.id))
    await bot.svc.features["poll_closer"].close_due()
    await fake.wait_for(lambda: all(m.extra["poll"]["is_closed"] for m in polls_sent), timeout=10)
    final = await fake.wait_for_message(owner, "Khảo sát đã hết hạn")
    assert "Số người trả lời: 3" in final.content
    stops = [c for c in fake.calls_to("stopPoll") if c.ok]
    assert sorted(c.params["chat_id"] for c in stops) == sorted(CITIZENS)
    # the .xlsx export has one row per voter
    fake.press_button(owner, ADMIN_ID, final.message_id, f"pl:x:{poll.id}")
    doc = await fake.wait_for(
        lambda: next((m for m in fake.bot_messages(owner) if m.document), None), timeout=10
    )
    sheet = openpyxl.load_workbook(io.BytesIO(doc.document.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "Lựa chọn" and len(rows) == 1 + 3
    # /forgetme erases the voter's id, the count stays
    fake.send_text(CITIZENS[1], CITIZENS[1], "/forgetme")
    ask = await fake.wait_for_message(CITIZENS[1], "Bạn có chắc chắn")
    fake.press_button(CITIZENS[1], CITIZENS[1], ask.message_id, "ykf:y")
    done = await fake.wait_for_message(CITIZENS[1], "Đã xóa dữ liệu")
    assert "phiếu khảo sát" in done.content
    assert (
        await db.fetch_value("SELECT COUNT(*) FROM poll_votes WHERE user_id = ?", (CITIZENS[1],))
        == 0
    )
    assert (await store.results(db, poll)).counts == (2, 2, 0)


async def test_strangers_and_bad_input_are_refused(bot: RunningBot, fake: FakeTelegram) -> None:
    await _subscribers(fake)
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    for text, expect in (
        ("/khaosat Chỉ một dòng", "Cần từ 2 đến 10 phương án"),
        ("/khaosat Hỏi?\n- A\n- B\nhạn: 32/13/2026 25:00", "Hạn khảo sát không hợp lệ"),
        ("/khaosat " + "x" * 301 + "\n- A\n- B", "tối đa 300"),
        ("/ketqua abc", "Cú pháp: /ketqua"),
        ("/ketqua 999", "Không có khảo sát #999"),
    ):
        before = max([0, *(m.message_id for m in fake.messages(owner))])
        fake.send_text(owner, ADMIN_ID, text)
        await fake.wait_for_message(owner, expect, after=before)
    await _create_and_send(fake, "/khaosat Có nên mở rộng giờ tiếp dân?\n- Có\n- Không")
    await fake.wait_for(lambda: all(fake.poll_messages(c) for c in CITIZENS), timeout=10)
    poll = (await store.recent_polls(bot.svc.db, 1))[0]
    citizen = CITIZENS[0]
    fake.send_text(citizen, citizen, "/khaosat Tôi cũng hỏi\n- A\n- B")
    await fake.wait_for_message(citizen, "không có quyền")
    # forged staff buttons from a citizen: refused, nothing closed, nothing exported
    for data in (f"pl:s:{poll.id}", f"pl:x:{poll.id}"):
        status = fake.bot_messages(citizen)[-1]
        qid = fake.press_button(citizen, citizen, status.message_id, data, check=False)
        await fake.wait_for(lambda q=qid: fake.callback_answers.get(q), timeout=5)
        assert "không có quyền" in fake.callback_answers[qid].get("text", "")
    assert not (await store.get_poll(bot.svc.db, poll.id)).closed
    assert not any(m.document for m in fake.bot_messages(citizen))
    # a vote for an option Telegram never offered is ignored; a stranger's poll id too
    fake.push_update(
        {
            "poll_answer": {
                "poll_id": "nope",
                "user": {"id": citizen, "is_bot": False, "first_name": "X"},
                "option_ids": [0],
                "option_persistent_ids": ["o0"],
            }
        }
    )
    fake.vote(citizen, citizen, fake.poll_messages(citizen)[0].message_id, [1])
    await eventually(lambda: _voters(bot, poll, 1))
    assert (await store.results(bot.svc.db, poll)).counts == (0, 1)


async def _voters(bot: RunningBot, poll: store.Poll, n: int) -> bool:
    return (await store.results(bot.svc.db, poll)).voters == n
