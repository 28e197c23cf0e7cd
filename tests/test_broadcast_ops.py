"""[Sửa], [Thu hồi], [Nhắc lại] end to end; durable edit/delete ops; forged buttons."""

from __future__ import annotations

from typing import Any

from bot.domain import clock
from bot.domain.broadcasts import parse_audience
from bot.store import drafts, message_ops, outbox
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import RunningBot, eventually, stop_bot
from tests.test_broadcast_e2e import (
    GROUP_ADMIN,
    _announce,
    _approve,
    _bid,
    _cb,
    _confirm_edit,
    _subscribe_group,
    _write_directive,
)

CITIZENS = (700301, 700302)


async def _value(bot: RunningBot, sql: str, params: tuple = ()) -> Any:
    return await bot.svc.db.fetch_value(sql, params)


async def _sent_announcement(bot: RunningBot, fake: FakeTelegram, text: str) -> tuple[Any, int]:
    """Two citizens and a group subscribe; the owner sends `text`; all delivered."""
    await _subscribe_group(fake, -1201, "Tổ dân phố 1", GROUP_ADMIN)
    for uid in CITIZENS:
        fake.private_chat(fake.user(uid, "Dân"))
        fake.send_text(uid, uid, "/dangky")
        await fake.wait_for_message(uid, "Đã đăng ký")
    chat, control = await _announce(fake, ADMIN_ID, text)
    bid = _bid(control)
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )

    async def all_sent() -> bool:
        return await _value(bot, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'") == 3

    await eventually(all_sent, timeout=8)
    return chat, bid


def _the_message(fake: FakeTelegram, chat_id: int, needle: str) -> Any:
    found = [m for m in fake.bot_messages(chat_id) if needle in m.content]
    assert len(found) == 1, [m.content for m in fake.bot_messages(chat_id)]
    return found[0]


async def _view(fake: FakeTelegram, chat: Any, bid: int) -> Any:
    fake.send_text(chat, ADMIN_ID, f"/broadcast {bid}")
    return await fake.wait_for_message(
        chat,
        f"#{bid}",
        predicate=lambda m: any(
            b.get("callback_data", "").startswith(f"bc:del:{bid}:") for b in m.buttons
        ),
    )


async def test_edit_in_every_chat(bot: RunningBot, fake: FakeTelegram) -> None:
    chat, bid = await _sent_announcement(bot, fake, "Họp tổ lúc <b>19h</b>")
    originals = {c: _the_message(fake, c, "Họp tổ lúc 19h") for c in (-1201, *CITIZENS)}
    view = await _view(fake, chat, bid)
    fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:edit:{bid}")
    )
    await fake.wait_for_message(chat, "Gửi nội dung mới")
    fake.send_text(chat, ADMIN_ID, "Họp tổ dời sang <i>20h</i>")
    await _confirm_edit(fake, chat)
    report = await fake.wait_for_message(chat, "Đã sửa bản tin", timeout=8)
    assert "3 tin nhắn đã sửa, 0 không sửa được" in report.content
    for c, m in originals.items():
        now = fake.message(c, m.message_id)
        assert now.content == "Họp tổ dời sang 20h"
        assert any(e["type"] == "italic" for e in now.entities)
    # every edit went through the durable outbox and is recorded as done
    assert await _value(bot, "SELECT COUNT(*) FROM message_ops WHERE state = 'done'") == 3
    assert await _value(bot, "SELECT text_rev FROM broadcasts WHERE id = ?", (bid,)) == 1


async def test_delete_everywhere_with_48h_refusal(bot: RunningBot, fake: FakeTelegram) -> None:
    chat, bid = await _sent_announcement(bot, fake, "Tin sẽ thu hồi")
    originals = {c: _the_message(fake, c, "Tin sẽ thu hồi") for c in (-1201, *CITIZENS)}
    # Telegram refuses to delete bot messages older than 48 h in groups.
    fake.add_fault(
        Fault.bad_request("Bad Request: message can't be deleted"),
        method="deleteMessage",
        chat_id=-1201,
    )
    view = await _view(fake, chat, bid)
    fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:del:{bid}")
    )
    report = await fake.wait_for_message(chat, "Thu hồi bản tin", timeout=8)
    assert "đã xóa 2 tin nhắn; 1 không xóa được" in report.content
    assert "quá 48 giờ" in report.content
    for c in CITIZENS:
        assert fake.message(c, originals[c].message_id).deleted
    assert not fake.message(-1201, originals[-1201].message_id).deleted
    row = await bot.svc.db.fetch_one(
        "SELECT state, last_error FROM message_ops WHERE chat_id = -1201"
    )
    assert row[0] == "failed" and "can't be deleted" in row[1]


async def test_ops_resume_after_restart(bot_factory: Any, fake: FakeTelegram) -> None:
    """An edit request recorded just before a crash (one op caught "sending") finishes
    after the restart, and its report is sent once."""
    bot = await bot_factory()
    chat, bid = await _sent_announcement(bot, fake, "Bản cũ")
    originals = {c: _the_message(fake, c, "Bản cũ") for c in (-1201, *CITIZENS)}
    await stop_bot(bot)
    from bot.store.db import Database

    async with Database(bot.settings.db_path) as db:
        await message_ops.request_edit(
            db,
            bid,
            "Bản mới",
            ["Bản mới"],
            actor_id=ADMIN_ID,
            actor_role="owner",
            report_chat_id=chat.id,
            now=clock.now(),
        )
        await db.execute(
            "UPDATE message_ops SET state = 'sending' WHERE chat_id = ?", (CITIZENS[0],)
        )
    bot2 = await bot_factory()
    await fake.wait_for_message(chat, "Đã sửa bản tin", timeout=8)
    for c, m in originals.items():
        assert fake.message(c, m.message_id).content == "Bản mới"
    assert await _value(bot2, "SELECT COUNT(*) FROM message_ops WHERE state = 'done'") == 3
    assert sum("Đã sửa bản tin" in m.content for m in fake.bot_messages(chat)) == 1


async def test_in_flight_delivery_follows_revoke_and_edit(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    """A delivery in flight when [Thu hồi]/[Sửa] is pressed is deleted/edited once recorded."""
    db = bot.svc.db
    await _subscribe_group(fake, -1202, "Tổ 2", GROUP_ADMIN)
    await _subscribe_group(fake, -1203, "Tổ 3", GROUP_ADMIN)
    for revoke in (True, False):
        bid = await drafts.create_draft(
            db,
            kind="announcement",
            body="x",
            parts=["x"],
            audience=parse_audience("all"),
            created_by=ADMIN_ID,
            now=clock.now(),
        )
        # queue without waking the dispatcher: mark by hand as the dispatcher would
        await drafts.queue_broadcast(
            db,
            bid,
            scheduled_at=clock.now() + 3600,
            actor_id=None,
            actor_role=None,
            now=clock.now(),
        )
        ids = [
            r[0]
            for r in await db.fetch_all("SELECT id FROM deliveries WHERE broadcast_id = ?", (bid,))
        ]
        go, _ = await outbox.mark_sending(db, ids, clock.now())
        assert len(go) == 2
        if revoke:
            await message_ops.request_delete(
                db,
                bid,
                actor_id=ADMIN_ID,
                actor_role="owner",
                report_chat_id=None,
                now=clock.now(),
            )
        else:
            await message_ops.request_edit(
                db,
                bid,
                "y",
                ["y"],
                actor_id=ADMIN_ID,
                actor_role="owner",
                report_chat_id=None,
                now=clock.now(),
            )
        # nothing was sent yet where they are in flight: no op for them so far
        assert not await _value(
            bot, "SELECT COUNT(*) FROM message_ops WHERE broadcast_id = ?", (bid,)
        )
        outcomes = [
            outbox.Outcome(i, bid, chat_id, "sent", (4242 + i,), text_rev=0)
            for i, chat_id in go.items()
        ]
        await outbox.record_outcomes(db, outcomes, clock.now())
        rows = await db.fetch_all(
            "SELECT op, message_id FROM message_ops WHERE broadcast_id = ? ORDER BY id", (bid,)
        )
        expected = "delete" if revoke else "edit"
        assert sorted(r[1] for r in rows) == sorted(4242 + i for i in go)
        assert {r[0] for r in rows} == {expected}


async def test_remind_only_unacknowledged_and_forged_acks(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    for cid, title in ((-1211, "Phường A"), (-1212, "Phường B")):
        await _subscribe_group(fake, cid, title, GROUP_ADMIN)
        await _approve(bot, fake, cid)
    _write_directive(bot)
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(chat, ADMIN_ID, "/directive 2022-Q2")
    control = await fake.wait_for_message(chat, "Số cuộc trò chuyện sẽ nhận: 2")
    bid = _bid(control)
    # the preview carries the same button, but pressing it there records nothing
    preview = fake.bot_messages(chat)[-2]
    assert preview.buttons == [{"text": "✅ Đã nhận", "callback_data": f"ack:{bid}"}]
    fake.press_button(chat, ADMIN_ID, preview.message_id, f"ack:{bid}")
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    a = await fake.wait_for_message(-1211, "CHỈ ĐẠO QUÝ II/2022")
    b = await fake.wait_for_message(-1212, "CHỈ ĐẠO QUÝ II/2022")
    assert a.content == preview.content and a.entities == preview.entities
    # two members of A acknowledge: A counts once as a chat, both users are recorded
    member = 700399
    fake.user(member, "Cán bộ")
    fake.group(-1211, "Phường A", members=[member])
    for uid in (GROUP_ADMIN, member):
        qid = fake.press_button(-1211, uid, a.message_id, f"ack:{bid}")
        await fake.wait_for(lambda q=qid: fake.callback_answers.get(q))
    # forged: B's message pressed with another broadcast's id, or garbage ids
    other = await drafts.create_draft(
        bot.svc.db,
        kind="directive",
        body="khác",
        parts=["khác"],
        audience=parse_audience("cadre"),
        created_by=ADMIN_ID,
        now=clock.now(),
        with_ack=True,
    )
    for data in (f"ack:{other}", "ack:99999999999999999999999", "ack:0"):
        qid = fake.press_button(-1212, GROUP_ADMIN, b.message_id, data, check=False)
        await fake.wait_for(lambda q=qid: fake.callback_answers.get(q))
    rows = await bot.svc.db.fetch_all("SELECT broadcast_id, chat_id, user_id FROM acks ORDER BY 3")
    assert sorted(tuple(r) for r in rows) == sorted(
        [(bid, -1211, GROUP_ADMIN), (bid, -1211, member)]
    )
    await fake.wait_for(
        lambda: "(2)" in fake.message(-1211, a.message_id).buttons[0]["text"], timeout=8
    )
    # /acks lists B only; [Nhắc lại] reminds B only, with a button acknowledging the directive
    fake.send_text(chat, ADMIN_ID, f"/acks {bid}")
    acks = await fake.wait_for_message(chat, "1/2 nhóm đã xác nhận")
    assert "Phường B" in acks.content and "Phường A" not in acks.content
    fake.press_button(
        chat, ADMIN_ID, acks.message_id, _cb(fake, chat, acks.message_id, f"bc:remind:{bid}")
    )
    reminder = await fake.wait_for_message(-1212, "Nhắc lại", timeout=8)
    await eventually(
        lambda: _value(bot, "SELECT COUNT(*) FROM broadcasts WHERE kind = 'reminder'"), timeout=3
    )
    assert not [m for m in fake.bot_messages(-1211) if "Nhắc lại" in m.content]
    fake.press_button(-1212, GROUP_ADMIN, reminder.message_id, f"ack:{bid}")
    await eventually(
        lambda: _value(
            bot, "SELECT COUNT(*) FROM acks WHERE chat_id = -1212 AND broadcast_id = ?", (bid,)
        ),
        timeout=5,
    )
    # a reminder cannot be asked for an announcement (forged button)
    qid = fake.press_button(
        chat,
        ADMIN_ID,
        acks.message_id,
        _cb(fake, chat, acks.message_id, f"bc:remind:{other + 100}"),
        check=False,
    )
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    assert await _value(bot, "SELECT COUNT(*) FROM broadcasts WHERE kind = 'reminder'") == 1


async def test_forged_buttons_refused(bot: RunningBot, fake: FakeTelegram) -> None:
    """Every broadcast button, with forged ids, is answered and changes nothing."""
    fake.private_chat(fake.user(700401, "Dân"))
    fake.send_text(700401, 700401, "/dangky")
    await fake.wait_for_message(700401, "Đã đăng ký")
    chat, control = await _announce(fake, ADMIN_ID, "Bản nháp thật")
    bid = _bid(control)
    stranger = 700402
    fake.user(stranger, "Người lạ")
    actions = ("go", "x", "stop", "retry", "del", "edit", "remind", "at", "ok", "no")
    ids = (str(bid), "-1", "0", "99999999999999999999999", "abc", "")
    presses = []
    for who in (stranger, ADMIN_ID):
        for act in actions:
            for raw in ids:
                if who == ADMIN_ID and raw == str(bid):
                    continue
                presses.append(
                    fake.press_button(
                        chat,
                        who,
                        control.message_id,
                        _cb(fake, chat, control.message_id, f"bc:{act}:{raw}"),
                        check=False,
                    )
                )
    presses.append(
        fake.press_button(
            chat,
            stranger,
            control.message_id,
            _cb(fake, chat, control.message_id, f"bc:a:{bid}:cadre"),
            check=False,
        )
    )
    presses.append(
        fake.press_button(
            chat, ADMIN_ID, control.message_id, "bc:a:999999999999999999999:all", check=False
        )
    )
    for qid in presses:
        await fake.wait_for(lambda q=qid: fake.callback_answers.get(q), timeout=8)
    row = await bot.svc.db.fetch_one("SELECT state, audience FROM broadcasts WHERE id = ?", (bid,))
    assert tuple(row) == ("draft", "all")
    assert not await _value(bot, "SELECT COUNT(*) FROM deliveries")
    assert not [m for m in fake.bot_messages(700401) if "Bản nháp thật" in m.content]
