"""Issue 10, items 1-3 end to end: a draft belongs to its author and every two-step
button acts on the version its presser was shown; conversations lapse, never take
chatter and end with /cancel whichever feature owns them; recalled means recalled."""

from __future__ import annotations

from typing import Any

from bot.domain import clock
from bot.store import outbox, people
from bot.store import subscriptions as subs
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import RunningBot, eventually
from tests.test_broadcast_e2e import ADMIN_CHAT, EDITOR, GROUP_ADMIN, _approve, _bid, _cb
from tests.test_broadcast_e2e import _subscribe_group as subscribe_group

CITIZEN = 700801


async def _value(bot: RunningBot, sql: str, params: tuple = ()) -> Any:
    return await bot.svc.db.fetch_value(sql, params)


async def _grant(bot: RunningBot, user_id: int, role: str) -> None:
    await bot.svc.db.execute(
        "INSERT INTO staff_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, 0)",
        (user_id, role, ADMIN_ID),
    )


def _last(fake: FakeTelegram, chat_id: int) -> int:
    return max([0, *[m.message_id for m in fake.messages(chat_id)]])


async def _answer_of(fake: FakeTelegram, qid: str) -> str:
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    return str(fake.callback_answers[qid].get("text") or "")


async def _setup(bot_factory: Any, fake: FakeTelegram, **settings: Any) -> RunningBot:
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT, **settings)
    await _grant(bot, EDITOR, "editor")
    fake.user(ADMIN_ID, "Chủ")
    fake.user(EDITOR, "Biên tập")
    fake.group(ADMIN_CHAT, "Ban Tuyên giáo", admins=[ADMIN_ID], members=[EDITOR])
    await subscribe_group(fake, -1801, "Chi bộ cán bộ", GROUP_ADMIN)
    await _approve(bot, fake, -1801)
    citizen = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.send_text(citizen, CITIZEN, "/dangky")
    await fake.wait_for_message(citizen, "Đã đăng ký")
    return bot


async def _draft_in_admin_group(fake: FakeTelegram, user_id: int, text: str) -> Any:
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, user_id, f"/thongbao {text}")
    return await fake.wait_for_message(ADMIN_CHAT, "Số cuộc trò chuyện sẽ nhận", after=after)


async def _set_audience(
    fake: FakeTelegram, user_id: int, control: Any, key: str, mark: str, chat: int = ADMIN_CHAT
) -> None:
    bid = _bid(control)
    data = _cb(fake, chat, control.message_id, f"bc:a:{bid}:{key}")
    fake.press_button(chat, user_id, control.message_id, data)
    await fake.wait_for(lambda: mark in str(fake.message(chat, control.message_id).buttons))


async def _editors_cadre_draft(fake: FakeTelegram, text: str) -> tuple[int, Any, int]:
    """The editor's draft in their private chat, set to cadre chats: (chat, control, id)."""
    editor_chat = fake.private_chat(EDITOR)
    fake.send_text(editor_chat, EDITOR, f"/thongbao {text}")
    control = await fake.wait_for_message(editor_chat, "Số cuộc trò chuyện sẽ nhận")
    await _set_audience(fake, EDITOR, control, "cadre", "✓ Cán bộ", chat=editor_chat.id)
    return editor_chat.id, control, _bid(control)


async def _citizens_comment(fake: FakeTelegram, text: str) -> Any:
    """A citizen sends a comment; the moderators' notice of it in the admin group."""
    fake.send_text(CITIZEN, CITIZEN, f"/ykien {text}")
    preview = await fake.wait_for_message(CITIZEN, "Xem lại ý kiến")
    fake.press_button(CITIZEN, CITIZEN, preview.message_id, "ykc:s")
    return await fake.wait_for_message(ADMIN_CHAT, "Ý kiến #")


# --- 1. a draft belongs to its author; buttons carry the version shown -----------------------


async def test_editor_cannot_touch_owners_cadre_draft(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await _setup(bot_factory, fake)
    control = await _draft_in_admin_group(fake, ADMIN_ID, "Nội bộ: kế hoạch quý")
    bid = _bid(control)
    await _set_audience(fake, ADMIN_ID, control, "cadre", "✓ Cán bộ")
    # The editor presses [Tất cả] on the owner's control message in the admin group.
    data = _cb(fake, ADMIN_CHAT, control.message_id, f"bc:a:{bid}:all")
    qid = fake.press_button(ADMIN_CHAT, EDITOR, control.message_id, data)
    assert "người khác soạn" in await _answer_of(fake, qid)
    assert await _value(bot, "SELECT audience FROM broadcasts WHERE id = ?", (bid,)) == "cadre"
    # ... nor send or discard it.
    for action in ("go", "x"):
        data = _cb(fake, ADMIN_CHAT, control.message_id, f"bc:{action}:{bid}")
        qid = fake.press_button(ADMIN_CHAT, EDITOR, control.message_id, data)
        assert "người khác soạn" in await _answer_of(fake, qid)
    assert await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == "draft"
    # The owner sends: only the cadre chat receives the internal text.
    data = _cb(fake, ADMIN_CHAT, control.message_id, f"bc:go:{bid}")
    fake.press_button(ADMIN_CHAT, ADMIN_ID, control.message_id, data)
    await fake.wait_for_message(-1801, "kế hoạch quý")
    await eventually(
        lambda: _value(bot, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'"), timeout=5
    )
    assert not any("kế hoạch quý" in m.content for m in fake.bot_messages(CITIZEN))


async def test_stale_send_button_is_refused(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await _setup(bot_factory, fake)
    control = await _draft_in_admin_group(fake, ADMIN_ID, "Nội bộ: danh sách đảng viên")
    bid = _bid(control)
    await _set_audience(fake, ADMIN_ID, control, "cadre", "✓ Cán bộ")
    shown_cadre = _cb(fake, ADMIN_CHAT, control.message_id, f"bc:go:{bid}")
    # The audience changes after that screen was shown (another device, the console).
    await _set_audience(fake, ADMIN_ID, control, "all", "✓ Tất cả")
    qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, control.message_id, shown_cadre, check=False)
    assert "đã thay đổi" in await _answer_of(fake, qid)
    assert await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == "draft"
    assert await _value(bot, "SELECT COUNT(*) FROM deliveries") == 0
    # A forged button without a version is refused the same way.
    qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, control.message_id, f"bc:go:{bid}", check=False)
    assert "đã thay đổi" in await _answer_of(fake, qid)
    assert await _value(bot, "SELECT COUNT(*) FROM deliveries") == 0


async def test_approval_names_audience_and_refuses_a_changed_draft(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _setup(bot_factory, fake)
    editor_chat, control, bid = await _editors_cadre_draft(fake, "Nội bộ: họp chi bộ")
    data = _cb(fake, editor_chat, control.message_id, f"bc:go:{bid}")
    fake.press_button(editor_chat, EDITOR, control.message_id, data)
    request = await fake.wait_for_message(ADMIN_CHAT, f"đề nghị gửi bản tin #{bid}")
    assert "Nhóm cán bộ" in request.content or "cán bộ" in request.content
    assert "(1 cuộc trò chuyện)" in request.content
    # The stored draft changes after the request (e.g. through the console).
    await bot.svc.db.execute("UPDATE broadcasts SET audience = 'all' WHERE id = ?", (bid,))
    ok = _cb(fake, ADMIN_CHAT, request.message_id, f"bc:ok:{bid}")
    qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, request.message_id, ok)
    assert "đã thay đổi" in await _answer_of(fake, qid)
    assert await _value(bot, "SELECT COUNT(*) FROM deliveries") == 0
    assert await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == (
        "awaiting_approval"
    )


async def test_admin_acts_for_the_author_only_explicitly_and_audited(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _setup(bot_factory, fake)
    editor_chat = fake.private_chat(EDITOR)
    fake.send_text(editor_chat, EDITOR, "/thongbao Bản nháp bỏ quên")
    control = await fake.wait_for_message(editor_chat, "Số cuộc trò chuyện sẽ nhận")
    bid = _bid(control)
    owner_chat = fake.private_chat(ADMIN_ID)
    after = _last(fake, owner_chat.id)
    fake.send_text(owner_chat, ADMIN_ID, f"/broadcast {bid}")
    view = await fake.wait_for_message(owner_chat, f"#{bid}", after=after)
    data = _cb(fake, owner_chat, view.message_id, f"bc:x:{bid}:o")
    assert data.endswith(":o"), view.buttons
    fake.press_button(owner_chat, ADMIN_ID, view.message_id, data)
    await eventually(
        lambda: _value(bot, "SELECT state = 'cancelled' FROM broadcasts WHERE id = ?", (bid,))
    )
    audit = await _value(
        bot,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'broadcast_on_behalf' AND actor_id = ?",
        (ADMIN_ID,),
    )
    assert audit == 1


# --- 2. conversations lapse, take only replies in groups, end with /cancel --------------------


async def _sent(bot: RunningBot, fake: FakeTelegram, text: str) -> int:
    control = await _draft_in_admin_group(fake, ADMIN_ID, text)
    bid = _bid(control)
    fake.press_button(
        ADMIN_CHAT,
        ADMIN_ID,
        control.message_id,
        _cb(fake, ADMIN_CHAT, control.message_id, f"bc:go:{bid}"),
    )
    await eventually(
        lambda: _value(
            bot,
            "SELECT COUNT(*) = 2 FROM deliveries WHERE state = 'sent' AND broadcast_id = ?",
            (bid,),
        ),
        timeout=8,
    )
    return bid


async def _press_edit(fake: FakeTelegram, bid: int) -> Any:
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, f"/broadcast {bid}")
    view = await fake.wait_for_message(ADMIN_CHAT, f"#{bid}", after=after)
    after = _last(fake, ADMIN_CHAT)
    data = _cb(fake, ADMIN_CHAT, view.message_id, f"bc:edit:{bid}")
    fake.press_button(ADMIN_CHAT, ADMIN_ID, view.message_id, data)
    return await fake.wait_for_message(ADMIN_CHAT, "Gửi nội dung mới", after=after)


async def test_chatter_in_admin_group_never_replaces_a_sent_announcement(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _setup(bot_factory, fake)
    bid = await _sent(bot, fake, "Lịch tiếp dân thứ Hai")
    original = next(m for m in fake.bot_messages(CITIZEN) if "Lịch tiếp dân" in m.content)
    prompt = await _press_edit(fake, bid)
    # Ordinary chatter (not a reply to the prompt) is not taken as the new text.
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Chiều nay ai đi họp giao ban?")
    # A reply to the prompt is shown back first; nothing changes before [Xác nhận].
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Lịch tiếp dân thứ Ba", reply_to=prompt)
    confirm = await fake.wait_for_message(ADMIN_CHAT, "Xác nhận để thay", after=after)
    assert fake.message(CITIZEN, original.message_id).content == "Lịch tiếp dân thứ Hai"
    assert not any("Chiều nay" in m.content for m in fake.bot_messages(CITIZEN))
    assert await _value(bot, "SELECT COUNT(*) FROM message_ops") == 0
    cancel = next(
        b["callback_data"] for b in confirm.buttons if b["callback_data"].startswith("bc:en:")
    )
    fake.press_button(ADMIN_CHAT, ADMIN_ID, confirm.message_id, cancel)
    await fake.wait_for(
        lambda: "Đã hủy sửa" in fake.message(ADMIN_CHAT, confirm.message_id).content
    )
    assert fake.message(CITIZEN, original.message_id).content == "Lịch tiếp dân thứ Hai"
    assert await _value(bot, "SELECT COUNT(*) FROM message_ops") == 0


async def test_conversation_lapses_and_user_is_told(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await _setup(bot_factory, fake, conversation_timeout=0.5)
    bid = await _sent(bot, fake, "Thông báo cũ")
    prompt = await _press_edit(fake, bid)
    await fake.wait_for_message(ADMIN_CHAT, "Đã hết thời gian chờ", timeout=5)
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Thông báo mới", reply_to=prompt)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "/help")
    await fake.wait_for_message(ADMIN_CHAT, "Các lệnh của Loa", after=after)
    assert not any("Xác nhận để thay" in m.content for m in fake.bot_messages(ADMIN_CHAT))


async def test_cancel_ends_any_features_conversation(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await _setup(bot_factory, fake)
    # Broadcast edit dialog, ended by /cancel in the admin group.
    bid = await _sent(bot, fake, "Bản tin A")
    prompt = await _press_edit(fake, bid)
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "/cancel")
    await fake.wait_for_message(ADMIN_CHAT, "Đã hủy", after=after)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Bản tin B", reply_to=prompt)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "/help")
    await fake.wait_for_message(ADMIN_CHAT, "Các lệnh của Loa", after=after)
    assert not any("Xác nhận để thay" in m.content for m in fake.bot_messages(ADMIN_CHAT))
    # A moderator's [Trả lời] (the feedback feature) ends with the same /cancel.
    notice = await _citizens_comment(fake, "Đề nghị sửa đèn đường ngõ 5 phố Huế")
    after = _last(fake, ADMIN_CHAT)
    fake.press_button(ADMIN_CHAT, ADMIN_ID, notice.message_id, "ykm:t:1")
    answer_prompt = await fake.wait_for_message(ADMIN_CHAT, "trả lời (reply)", after=after)
    # Chatter is not an answer.
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Ai trực tối nay?")
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "/huy")
    await fake.wait_for_message(ADMIN_CHAT, "Đã hủy: trả lời ý kiến #1", after=after)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "Sẽ sửa trong tuần", reply_to=answer_prompt)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, "/help")
    await fake.wait_for_message(ADMIN_CHAT, "Các lệnh của Loa", after=after)
    texts = [m.content for m in fake.bot_messages(CITIZEN)]
    assert not any("Ai trực" in t or "Sẽ sửa" in t for t in texts), texts
    # A reply to the ended prompt is not taken as an answer either: no preview offered.
    shown = [m.content for m in fake.bot_messages(ADMIN_CHAT) if m.message_id > after]
    assert not any("Xem lại câu trả lời" in t for t in shown), shown
    assert await _value(bot, "SELECT answer FROM comments WHERE id = 1") is None


# --- 3. recalled means recalled --------------------------------------------------------------


async def test_recalled_broadcast_offers_and_accepts_no_retry_or_edit(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _setup(bot_factory, fake)
    fake.add_fault(
        Fault.bad_request("Bad Request: chat not found"),
        method="sendMessage",
        chat_id=-1801,
        times=None,
    )
    control = await _draft_in_admin_group(fake, ADMIN_ID, "Tin sẽ thu hồi")
    bid = _bid(control)
    fake.press_button(
        ADMIN_CHAT,
        ADMIN_ID,
        control.message_id,
        _cb(fake, ADMIN_CHAT, control.message_id, f"bc:go:{bid}"),
    )
    report = await fake.wait_for_message(ADMIN_CHAT, "Báo cáo gửi", timeout=8)
    assert "đã gửi xong" not in report.content or "không nhận được" in report.content
    assert "1 cuộc trò chuyện không nhận được" in report.content
    fake.clear_faults()
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, f"/broadcast {bid}")
    view = await fake.wait_for_message(ADMIN_CHAT, f"#{bid}", after=after)
    retry = _cb(fake, ADMIN_CHAT, view.message_id, f"bc:retry:{bid}")
    edit = _cb(fake, ADMIN_CHAT, view.message_id, f"bc:edit:{bid}")
    fake.press_button(
        ADMIN_CHAT,
        ADMIN_ID,
        view.message_id,
        _cb(fake, ADMIN_CHAT, view.message_id, f"bc:del:{bid}"),
    )
    await fake.wait_for_message(ADMIN_CHAT, "Thu hồi bản tin", timeout=8)
    for data in (retry, edit):
        qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, view.message_id, data)
        assert "đã thay đổi" in await _answer_of(fake, qid)
    after = _last(fake, ADMIN_CHAT)
    fake.send_text(ADMIN_CHAT, ADMIN_ID, f"/broadcast {bid}")
    fresh = await fake.wait_for_message(ADMIN_CHAT, f"#{bid}", after=after)
    offered = [b["callback_data"].split(":")[1] for b in fresh.buttons]
    assert not {"retry", "edit", "del"} & set(offered), offered
    # The store refuses too (the console or a race cannot re-send a recalled text).
    try:
        await outbox.retry_failed(bot.svc.db, bid, actor_id=ADMIN_ID, actor_role="owner", now=0)
    except Exception as exc:  # InvalidInput
        assert "thu hồi" in str(exc)
    else:
        raise AssertionError("retry of a recalled broadcast was accepted")
    await fake.wait_for(lambda: True)
    assert not any("Tin sẽ thu hồi" in m.content for m in fake.bot_messages(-1801))


# --- 10. [Dừng] stops what is waiting for a slot ---------------------------------------------


async def test_stop_cancels_deliveries_waiting_for_a_slot(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory(global_rate=2, dispatcher_concurrency=8, progress_interval=0)
    citizens = list(range(700900, 700916))
    for uid in citizens:  # subscribed directly: at 2 messages/s replies would queue
        fake.private_chat(fake.user(uid, "Dân"))
        await people.upsert_chat(bot.svc.db, uid, "private", "Dân", None, 0)
        await subs.subscribe(bot.svc.db, uid, uid, [], 0)
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    after = _last(fake, owner.id)
    fake.send_text(owner, ADMIN_ID, "/thongbao Thông báo sẽ dừng giữa chừng")
    control = await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận", after=after)
    bid = _bid(control)
    fake.press_button(
        owner, ADMIN_ID, control.message_id, _cb(fake, owner, control.message_id, f"bc:go:{bid}")
    )

    def received() -> int:
        return sum(
            1 for uid in citizens for m in fake.bot_messages(uid) if "dừng giữa chừng" in m.content
        )

    await fake.wait_for(lambda: received() >= 1, timeout=10)
    after = _last(fake, owner.id)
    fake.send_text(owner, ADMIN_ID, f"/broadcast {bid}")
    view = await fake.wait_for_message(
        owner, f"#{bid}", after=after, predicate=lambda m: bool(m.buttons)
    )
    qid = fake.press_button(
        owner, ADMIN_ID, view.message_id, _cb(fake, owner, view.message_id, f"bc:stop:{bid}")
    )
    await fake.wait_for(lambda: fake.callback_answers.get(qid), timeout=10)
    at_stop = received()
    # Those waiting for a slot give it up one by one (each re-checks when its slot comes):
    # without the re-check, every one of them would still arrive.
    await eventually(
        lambda: _value(bot, "SELECT COUNT(*) = 0 FROM deliveries WHERE state = 'sending'"),
        timeout=15,
    )
    assert received() <= at_stop + 1, (at_stop, received())
    sent = await _value(bot, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
    assert sent == received()
    cancelled = await _value(bot, "SELECT COUNT(*) FROM deliveries WHERE state = 'cancelled'")
    assert cancelled == len(citizens) - sent


# --- 8. authority is checked when it is used, not when it was granted ------------------------

ADMIN2 = 700802


async def test_scheduled_broadcast_is_held_when_its_approver_lost_the_role(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await _setup(bot_factory, fake)
    await _grant(bot, ADMIN2, "admin")
    fake.user(ADMIN2, "Quản trị hai")
    fake.group(ADMIN_CHAT, "Ban Tuyên giáo", admins=[ADMIN_ID, ADMIN2], members=[EDITOR])
    editor_chat, control, bid = await _editors_cadre_draft(fake, "Nội bộ: lịch tiếp dân quý")
    data = _cb(fake, editor_chat, control.message_id, f"bc:at:{bid}")
    fake.press_button(editor_chat, EDITOR, control.message_id, data)
    await fake.wait_for_message(editor_chat, "Nhập thời gian gửi")
    fake.send_text(editor_chat, EDITOR, clock.format_local(clock.now() + 3 * 3600, bot.settings.tz))
    request = await fake.wait_for_message(ADMIN_CHAT, f"đề nghị gửi bản tin #{bid}")
    ok = _cb(fake, ADMIN_CHAT, request.message_id, f"bc:ok:{bid}")
    fake.press_button(ADMIN_CHAT, ADMIN2, request.message_id, ok)
    await eventually(
        lambda: _value(bot, "SELECT state = 'queued' FROM broadcasts WHERE id = ?", (bid,))
    )
    assert await _value(bot, "SELECT approved_by FROM broadcasts WHERE id = ?", (bid,)) == ADMIN2
    # The approver loses the role before the scheduled time comes.
    await bot.svc.db.execute("DELETE FROM staff_roles WHERE user_id = ?", (ADMIN2,))
    after = _last(fake, ADMIN_CHAT)
    await bot.svc.db.execute("UPDATE deliveries SET next_attempt_at = 0")
    bot.svc.features["dispatcher"].wake()
    notice = await fake.wait_for_message(ADMIN_CHAT, f"Bản tin #{bid} bị giữ lại", after=after)
    assert "không còn quyền quản trị" in notice.content
    assert "lịch tiếp dân" not in " ".join(m.content for m in fake.messages(-1801))
    assert await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == (
        "awaiting_approval"
    )
    assert await _value(bot, "SELECT state FROM deliveries WHERE broadcast_id = ?", (bid,)) == (
        "pending"
    )
    # An admin who still holds the role approves it again: it goes out.
    ok = _cb(fake, ADMIN_CHAT, notice.message_id, f"bc:ok:{bid}")
    fake.press_button(ADMIN_CHAT, ADMIN_ID, notice.message_id, ok)
    await fake.wait_for_message(-1801, "lịch tiếp dân")


async def test_a_lapsed_answer_prompt_takes_no_reply(bot_factory: Any, fake: FakeTelegram) -> None:
    await _setup(bot_factory, fake, conversation_timeout=0.5)
    await _citizens_comment(fake, "Đề nghị sửa đèn đường ngõ 5 phố Huế")
    # In the owner's private chat: /choduyet, [Trả lời], then the prompt lapses.
    fake.send_text(ADMIN_ID, ADMIN_ID, "/choduyet")
    inbox = await fake.wait_for_message(ADMIN_ID, "#1")
    reply_button = next(
        b["callback_data"] for b in inbox.buttons if b["callback_data"].startswith("yki:t:1")
    )
    fake.press_button(ADMIN_ID, ADMIN_ID, inbox.message_id, reply_button)
    answer_prompt = await fake.wait_for_message(
        ADMIN_ID, "Loa sẽ cho xem lại trước khi gửi", after=inbox.message_id
    )
    await fake.wait_for_message(ADMIN_ID, "Đã hết thời gian chờ", timeout=5)
    after = _last(fake, ADMIN_ID)
    fake.send_text(ADMIN_ID, ADMIN_ID, "Sẽ sửa trong tuần", reply_to=answer_prompt)
    fake.send_text(ADMIN_ID, ADMIN_ID, "/help")
    await fake.wait_for_message(ADMIN_ID, "Các lệnh của Loa", after=after)
    shown = [m.content for m in fake.bot_messages(ADMIN_ID) if m.message_id > after]
    assert not any("Xem lại câu trả lời" in t for t in shown), shown
