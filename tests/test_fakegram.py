"""Tests for the fake Bot API server, driven through a real python-telegram-bot Bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
import sys
import warnings
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from tests.fakegram import (
    FakeTelegram,
    Fault,
    HtmlParseError,
    Limits,
    detect_entities,
    parse_html,
)

ROOT = Path(__file__).resolve().parent.parent


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds (an int or a timedelta depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest_asyncio.fixture
async def fake():
    f = FakeTelegram()
    await f.start()
    yield f
    await f.stop()


@pytest_asyncio.fixture
async def ptb(fake):
    b = Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
    async with b:
        yield b


@pytest.fixture
def alice(fake):
    return fake.user(1001, "An", username="an", language_code="vi")


# ------------------------------------------------------------------ basics


@pytest.mark.asyncio
async def test_get_me(fake, ptb):
    me = await ptb.get_me()
    assert me.is_bot and me.username == "loa_test_bot" and me.id == 123456
    assert me.supports_inline_queries is True


@pytest.mark.asyncio
async def test_wrong_token_is_invalid_token(fake):
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass


@pytest.mark.asyncio
async def test_unknown_method_is_404(fake):
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake.base_url}{fake.token}/frobnicate") as r:
            assert r.status == 404
            assert await r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with s.post(f"{fake.base_url}{fake.token}/GETME", json={}) as r:
            assert r.status == 200 and (await r.json())["result"]["is_bot"] is True
        # JSON bodies carry real ints and objects instead of PTB's strings.
        fake.private_chat(fake.user(7, "An"))
        body = {
            "chat_id": 7,
            "text": "hi",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        }
        async with s.post(f"{fake.base_url}{fake.token}/sendMessage", json=body) as r:
            assert (await r.json())["result"]["reply_markup"] == body["reply_markup"]
        async with s.post(f"{fake.base_url}bad:token/getMe") as r:
            assert r.status == 401 and (await r.json())["description"] == "Unauthorized"


@pytest.mark.asyncio
async def test_send_message_is_stored_and_parsed(fake, ptb, alice):
    dm = fake.private_chat(alice)
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Đọc", callback_data="read:1")]])
    msg = await ptb.send_message(
        dm.id,
        "<b>Chào</b> &amp; <i>xin</i> 👋 <a href='https://x.vn'>link</a>",
        parse_mode="HTML",
        reply_markup=kb,
    )
    assert msg.message_id == 1 and msg.chat.id == dm.id and msg.from_user.is_bot
    assert msg.text == "Chào & xin 👋 link"
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "read:1"
    bold, italic, link = msg.entities
    assert (bold.type, bold.offset, bold.length) == (MessageEntity.BOLD, 0, 4)
    assert (italic.type, italic.offset, italic.length) == (MessageEntity.ITALIC, 7, 3)
    # The emoji is two UTF-16 code units.
    assert (link.type, link.offset, link.url) == (MessageEntity.TEXT_LINK, 14, "https://x.vn")
    (stored,) = fake.bot_messages(dm)
    assert stored.text == "Chào & xin 👋 link" and stored.raw_text.startswith("<b>Chào</b>")
    assert stored.buttons == [{"text": "Đọc", "callback_data": "read:1"}]
    assert fake.calls[-1].method == "sendMessage" and fake.calls[-1].params["chat_id"] == dm.id
    assert fake.stats.sends == 1


@pytest.mark.asyncio
async def test_message_ids_are_per_chat_and_shared(fake, ptb, alice):
    dm = fake.private_chat(alice)
    grp = fake.group(-2001, "Chi bộ", admins=[alice])
    upd = fake.send_text(dm, alice, "hi")
    assert upd["message"]["message_id"] == 1
    assert (await ptb.send_message(dm.id, "reply", reply_to_message_id=1)).message_id == 2
    assert (await ptb.send_message(grp.id, "group")).message_id == 1
    assert [m.from_bot for m in fake.messages(dm)] == [False, True]
    assert fake.messages(dm)[1].reply_to.message_id == 1


# ------------------------------------------------------------------ validation


@pytest.mark.asyncio
async def test_html_validation(fake, ptb, alice):
    dm = fake.private_chat(alice)
    for bad in ("<foo>x</foo>", "<b>x", "<b><i>x</b></i>", "a &nbsp; b", "x</b>", "a < b", "Q&A"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await ptb.send_message(dm.id, bad, parse_mode="HTML")
    assert fake.bot_messages(dm) == []
    # Without parse_mode the same text is fine.
    await ptb.send_message(dm.id, "<foo> & Q&A")
    assert fake.bot_messages(dm)[0].text == "<foo> & Q&A"


def test_parse_html_subset():
    text, ents = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        "<blockquote expandable>q</blockquote><b><i>bi</i></b>&#x1F600;&#65;"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "x = 1stqbi😀A👍"
    kinds = [(e["type"], e["offset"], e["length"]) for e in ents]
    assert ("pre", 0, 5) in kinds and ents[0]["language"] == "python"
    assert ("spoiler", 5, 1) in kinds and ("spoiler", 6, 1) in kinds
    assert ("expandable_blockquote", 7, 1) in kinds
    assert ("bold", 8, 2) in kinds and ("italic", 8, 2) in kinds
    assert ("custom_emoji", 13, 2) in kinds
    with pytest.raises(HtmlParseError, match="span"):
        parse_html("<span>x</span>")
    with pytest.raises(HtmlParseError, match="Unmatched end tag"):
        parse_html("<b><i>x</b></i>")


@pytest.mark.asyncio
async def test_size_and_button_limits(fake, ptb, alice):
    dm = fake.private_chat(alice)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await ptb.send_message(dm.id, "x" * 4097)
    # 4096 visible characters are fine even if the markup is longer.
    await ptb.send_message(dm.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await ptb.send_message(dm.id, "<b> </b>", parse_mode="HTML")
    long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await ptb.send_message(dm.id, "hi", reply_markup=long_data)
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        await ptb.send_message(dm.id, "hi", reply_markup=bad_url)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await ptb.send_document(dm.id, b"data", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await ptb.send_message(-999, "hi")
    assert len(fake.bot_messages(dm)) == 1


@pytest.mark.asyncio
async def test_edit_delete_and_callback_answers(fake, ptb, alice):
    dm = fake.private_chat(alice)
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    msg = await ptb.send_message(dm.id, "one", reply_markup=kb)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await ptb.edit_message_text("one", dm.id, msg.message_id, reply_markup=kb)
    edited = await ptb.edit_message_text("<b>two</b>", dm.id, msg.message_id, parse_mode="HTML")
    # Omitting reply_markup removes the keyboard, as on Telegram.
    assert edited.text == "two" and edited.edit_date is not None and edited.reply_markup is None
    stored = fake.message(dm, msg.message_id)
    assert stored.text == "two" and stored.edits[0].text == "one"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await ptb.edit_message_text("x", dm.id, 99)
    await ptb.edit_message_reply_markup(dm.id, msg.message_id, reply_markup=kb)
    qid = fake.press_button(dm, alice, msg.message_id, "a")
    assert await ptb.answer_callback_query(qid, text="ok")
    assert fake.callback_answers[qid]["text"] == "ok"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await ptb.answer_callback_query(qid)
    assert await ptb.delete_message(dm.id, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await ptb.delete_message(dm.id, msg.message_id)
    assert fake.message(dm, msg.message_id).deleted and fake.bot_messages(dm) == []


# ------------------------------------------------------------------ errors PTB maps


@pytest.mark.asyncio
async def test_faults_map_to_ptb_exceptions(fake, ptb, alice):
    dm = fake.private_chat(alice)
    fake.add_fault(Fault.retry_after(3), method="sendMessage")
    with pytest.raises(RetryAfter) as ei:
        await ptb.send_message(dm.id, "x")
    assert seconds(ei.value) == 3
    fake.add_fault(Fault.forbidden(), chat_id=dm.id)
    with pytest.raises(Forbidden, match="blocked"):
        await ptb.send_message(dm.id, "x")
    fake.add_fault(Fault.migrate(-1002001))
    with pytest.raises(ChatMigrated) as ei:
        await ptb.send_message(dm.id, "x")
    assert ei.value.new_chat_id == -1002001
    fake.add_fault(Fault.bad_request("chat not found"))
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await ptb.send_message(dm.id, "x")
    fake.add_fault(Fault.server_error(502))
    with pytest.raises(NetworkError) as ei:
        await ptb.send_message(dm.id, "x")
    assert not isinstance(ei.value, BadRequest)
    # A fault filtered to another chat does not fire here.
    fake.add_fault(Fault.forbidden(), chat_id=-1)
    await ptb.send_message(dm.id, "delivered")
    assert [m.text for m in fake.bot_messages(dm)] == ["delivered"]
    assert fake.stats.faults_served == 5


@pytest.mark.asyncio
async def test_delay_fault_times_out(fake, ptb, alice):
    dm = fake.private_chat(alice)
    fake.add_fault(Fault.delay(1.0), method="sendMessage")
    with pytest.raises(TimedOut):
        await ptb.send_message(dm.id, "slow", read_timeout=0.2)
    # Like Telegram, a timed-out request may still have been delivered.
    msg = await fake.wait_for_message(dm, "slow", timeout=3)
    assert msg.from_bot


@pytest.mark.asyncio
async def test_state_driven_errors(fake, ptb, alice):
    bob = fake.user(1002, "Bình")
    dm = fake.private_chat(alice)
    grp = fake.group(-2001, "Chi bộ phường Chi Lăng", admins=[alice])
    with pytest.raises(Forbidden, match="can't initiate"):
        await ptb.send_message(bob.id, "x")
    fake.user_blocked_bot(alice)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb.send_message(dm.id, "x")
    fake.user_unblocked_bot(alice)
    await ptb.send_message(dm.id, "back")
    fake.migrate_group(grp.id, -1002001)
    with pytest.raises(ChatMigrated) as ei:
        await ptb.send_message(grp.id, "x")
    assert ei.value.new_chat_id == -1002001
    await ptb.send_message(-1002001, "hi supergroup")
    fake.bot_removed(-1002001, alice)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await ptb.send_message(-1002001, "x")
    fake.deactivate_user(alice)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await ptb.send_message(dm.id, "x")


# ------------------------------------------------------------------ updates


@pytest.mark.asyncio
async def test_get_updates_long_polling(fake, ptb, alice):
    dm = fake.private_chat(alice)
    grp = fake.group(-2001, "Chi bộ", admins=[alice])
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(ptb.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    fake.send_text(dm, alice, "/start a_123")
    updates = await poll
    assert loop.time() - started < 1.5  # woke up on injection, not after the timeout
    (u,) = updates
    assert u.message.text == "/start a_123" and u.message.from_user.id == alice.id
    (ent,) = u.message.entities
    assert (ent.type, ent.offset, ent.length) == (MessageEntity.BOT_COMMAND, 0, 6)

    menu = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await ptb.send_message(dm.id, "menu", reply_markup=menu)
    fake.send_text(grp, alice, "/help@loa_test_bot")
    qid = fake.press_button(dm, alice, sent.message_id, "go")
    fake.bot_added(grp, alice)
    fake.user_blocked_bot(alice)
    iq = fake.inline_query(alice, "tuyen giao")
    # Not confirmed yet: the same first update comes back.
    again = await ptb.get_updates(timeout=0)
    assert again[0].update_id == u.update_id
    batch = await ptb.get_updates(offset=u.update_id + 1, timeout=1)
    kinds = [next(k for k in x.to_dict() if k != "update_id") for x in batch]
    assert kinds == [
        "message",
        "callback_query",
        "my_chat_member",
        "message",
        "my_chat_member",
        "inline_query",
    ]
    cmd = batch[0].message
    assert cmd.chat.type == "group" and cmd.entities[0].length == len("/help@loa_test_bot")
    cq = batch[1].callback_query
    assert cq.id == qid and cq.data == "go" and cq.message.message_id == sent.message_id
    assert (
        cq.message.reply_markup.inline_keyboard[0][0].callback_data == "go"
        and cq.message.from_user.is_bot
    )
    added = batch[2].my_chat_member
    assert added.old_chat_member.status == "left" and added.new_chat_member.status == "member"
    assert added.new_chat_member.user.id == fake.bot_id
    assert batch[3].message.new_chat_members[0].id == fake.bot_id
    blocked = batch[4].my_chat_member
    assert blocked.chat.type == "private" and blocked.new_chat_member.status == "kicked"
    assert batch[5].inline_query.id == iq and batch[5].inline_query.query == "tuyen giao"
    res = [InlineQueryResultArticle("r1", "Tuyên giáo", InputTextMessageContent("x"))]
    assert await ptb.answer_inline_query(iq, res)
    assert fake.inline_answers[iq]["results"][0]["id"] == "r1"
    assert await ptb.get_updates(offset=batch[-1].update_id + 1, timeout=0) == ()
    assert fake.pending_updates_count == 0


@pytest.mark.asyncio
async def test_ptb_application_round_trip(fake, alice):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
        await update.message.reply_html(
            f"Chào <b>{update.effective_user.first_name}</b>", reply_markup=kb
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("Đã chọn: " + update.callback_query.data)

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    dm = fake.private_chat(alice)
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.send_text(dm, alice, "/start")
        msg = await fake.wait_for_message(dm, "Chào An")
        assert msg.raw_text == "Chào <b>An</b>"
        qid = fake.press_button(dm, alice, msg.message_id, "yes")
        await fake.wait_for(lambda: msg.text == "Đã chọn: yes")
        assert fake.callback_answers[qid]["text"] == "ok"
        await app.updater.stop()
        await app.stop()
    assert fake.pending_updates_count == 0


@pytest.mark.asyncio
async def test_second_poller_conflicts_the_first(fake, ptb):
    # A second bot instance polling terminates the first one's long poll, as on Telegram.
    first = asyncio.create_task(ptb.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    async with Bot(fake.token, base_url=fake.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=0.2))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first
        assert await second == ()


# ------------------------------------------------------------------ limits


@pytest.mark.asyncio
async def test_global_limit(fake, ptb):
    clock = ManualClock()
    fake.clock = clock
    fake.limits = Limits(enabled=True, global_per_second=30)
    chats = [fake.private_chat(fake.user(5000 + i, f"U{i}")) for i in range(35)]
    results = await asyncio.gather(
        *(ptb.send_message(c.id, "x") for c in chats), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(results) - len(errors) == 30
    assert len(errors) == 5 and all(isinstance(e, RetryAfter) and seconds(e) == 1 for e in errors)
    assert fake.stats.violations == 5 and fake.stats.violations_by_kind == {"global": 5}
    assert fake.stats.sends == 30
    assert sum(len(fake.bot_messages(c)) for c in chats) == 30
    clock.now += 1.0
    await ptb.send_message(chats[0].id, "later")


@pytest.mark.asyncio
async def test_per_chat_limit(fake, ptb, alice):
    clock = ManualClock()
    fake.clock = clock
    fake.limits = Limits(enabled=True)
    dm = fake.private_chat(alice)
    await ptb.send_message(dm.id, "1")
    clock.now += 0.5
    with pytest.raises(RetryAfter) as ei:
        await ptb.send_message(dm.id, "2")
    assert seconds(ei.value) == 1
    # Edits count too.
    with pytest.raises(RetryAfter):
        await ptb.edit_message_text("1b", dm.id, 1)
    clock.now += 0.5
    await ptb.send_message(dm.id, "2")
    assert fake.stats.violations_by_kind == {"chat": 2}
    assert [m.text for m in fake.bot_messages(dm)] == ["1", "2"]


@pytest.mark.asyncio
async def test_per_group_limit(fake, ptb, alice):
    clock = ManualClock()
    fake.clock = clock
    fake.limits = Limits(enabled=True)
    grp = fake.group(-2001, "Chi bộ", admins=[alice])
    for _ in range(20):
        await ptb.send_message(grp.id, "x")
        clock.now += 1.0
    with pytest.raises(RetryAfter) as ei:
        await ptb.send_message(grp.id, "21st")
    # The first send (at t=1000) leaves the 60 s window at t=1060; now is t=1020.
    assert seconds(ei.value) == 40
    assert fake.stats.violations_by_kind == {"group": 1}
    clock.now = 1060.0
    await ptb.send_message(grp.id, "21st")
    assert len(fake.bot_messages(grp)) == 21


# ------------------------------------------------------------------ files & members


@pytest.mark.asyncio
async def test_send_document_stores_bytes(fake, ptb, alice):
    dm = fake.private_chat(alice)
    csv = "tên,điểm\nAn,10\n".encode()
    msg = await ptb.send_document(
        dm.id, InputFile(csv, filename="report.csv"), caption="<b>Báo cáo</b>", parse_mode="HTML"
    )
    assert msg.document.file_name == "report.csv" and msg.document.file_size == len(csv)
    assert msg.caption == "Báo cáo"
    stored = fake.bot_messages(dm)[0]
    assert stored.document.data == csv and stored.document.mime_type == "text/csv"
    photo = await ptb.send_photo(
        dm.id, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x08rest"
    )
    assert (photo.photo[-1].width, photo.photo[-1].height) == (16, 8)
    # Resending by file_id reuses the stored file.
    again = await ptb.send_document(dm.id, msg.document.file_id)
    assert fake.message(dm, again.message_id).document.data == csv
    f = await ptb.get_file(msg.document.file_id)
    assert bytes(await f.download_as_bytearray()) == csv


@pytest.mark.asyncio
async def test_get_chat_member_statuses(fake, ptb, alice):
    bob = fake.user(1002, "Bình")
    carol = fake.user(1003, "Chi")
    grp = fake.group(-2001, "Chi bộ", creator=carol, admins=[alice])
    fake.set_member_status(grp, bob, "kicked")
    assert isinstance(await ptb.get_chat_member(grp.id, alice.id), ChatMemberAdministrator)
    assert isinstance(await ptb.get_chat_member(grp.id, carol.id), ChatMemberOwner)
    assert isinstance(await ptb.get_chat_member(grp.id, bob.id), ChatMemberBanned)
    fake.set_member_status(grp, bob, "left")
    assert isinstance(await ptb.get_chat_member(grp.id, bob.id), ChatMemberLeft)
    dave = fake.user(1004, "Dũng")
    fake.send_text(grp, dave, "xin chào")
    assert isinstance(await ptb.get_chat_member(grp.id, dave.id), ChatMemberMember)
    dm = fake.private_chat(alice)
    assert (await ptb.get_chat_member(dm.id, alice.id)).status == "member"
    admins = await ptb.get_chat_administrators(grp.id)
    assert {a.user.id for a in admins} == {alice.id, carol.id}
    chat = await ptb.get_chat(grp.id)
    assert chat.title == "Chi bộ" and chat.type == "group"


@pytest.mark.asyncio
async def test_commands_and_misc(fake, ptb, alice):
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    cmds = [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")]
    assert await ptb.set_my_commands(
        cmds, scope=BotCommandScopeAllPrivateChats(), language_code="vi"
    )
    got = await ptb.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="vi")
    assert [c.command for c in got] == ["start", "help"]
    assert await ptb.get_my_commands() == ()
    with pytest.raises(BadRequest):
        await ptb.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await ptb.set_my_description("Loa")
    dm = fake.private_chat(alice)
    assert await ptb.send_chat_action(dm.id, "typing")
    src = await ptb.send_message(dm.id, "copy me")
    copied = await ptb.copy_message(dm.id, dm.id, src.message_id)
    assert fake.message(dm, copied.message_id).text == "copy me"
    fwd = await ptb.forward_message(dm.id, dm.id, src.message_id)
    assert fwd.forward_origin.sender_user.id == fake.bot_id
    assert await ptb.pin_chat_message(dm.id, src.message_id)
    assert (await ptb.get_webhook_info()).pending_update_count == 0


def test_detect_entities_utf16():
    ents = detect_entities("😀 /vote@loa_test_bot x @someone https://a.vn/x.")
    assert [(e["type"], e["offset"], e["length"]) for e in ents] == [
        ("bot_command", 3, 18),
        ("mention", 24, 8),
        ("url", 33, 14),
    ]


@pytest.mark.asyncio
async def test_wait_for_failure_dumps_calls(fake, ptb, alice):
    dm = fake.private_chat(alice)
    await ptb.send_message(dm.id, "something else")
    with pytest.raises(AssertionError, match="sendMessage"):
        await fake.wait_for_message(dm, "never", timeout=0.1)


# ------------------------------------------------------------------ out of process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.asyncio
async def test_out_of_process_control_api():
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakegram",
        "--port",
        str(port),
        "--token",
        "42:abc",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 10)
        assert b"listening" in line
        ctl = f"http://127.0.0.1:{port}/_fake"
        async with aiohttp.ClientSession() as s:

            async def post(path, body):
                async with s.post(f"{ctl}/{path}", json=body) as r:
                    data = await r.json()
                    assert r.status == 200, data
                    return data["result"]

            await post("users", {"id": 7, "first_name": "An", "username": "an"})
            await post("chats", {"id": -300, "title": "Chi bộ", "admins": [7]})
            await post("updates", {"kind": "text", "chat_id": 7, "user_id": 7, "text": "/start"})
            await post("faults", {"kind": "retry_after", "seconds": 2, "method": "sendMessage"})
            async with Bot("42:abc", base_url=f"http://127.0.0.1:{port}/bot") as ptb:
                (u,) = await ptb.get_updates(timeout=2)
                assert u.message.text == "/start" and u.message.entities[0].type == "bot_command"
                with pytest.raises(RetryAfter):
                    await ptb.send_message(7, "hi")
                await ptb.send_message(-300, "<b>chào</b>", parse_mode="HTML")
            async with s.get(f"{ctl}/messages", params={"chat_id": "-300"}) as r:
                (m,) = (await r.json())["result"]
                assert m["text"] == "chào" and m["from_bot"]
            async with s.get(f"{ctl}/calls", params={"since": "1"}) as r:
                methods = [c["method"] for c in (await r.json())["result"]]
                assert methods[-2:] == ["sendMessage", "sendMessage"]
            async with s.get(f"{ctl}/stats") as r:
                stats = (await r.json())["result"]
                assert stats["faults_served"] == 1 and stats["sends"] == 1
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_forum_topics_and_message_thread_id(fake, ptb, alice):
    """createForumTopic on a forum supergroup (bot admin); sends name a live topic."""
    forum = fake.group(-100555, "Kiểm duyệt", supergroup=True, forum=True, admins=[alice])
    plain = fake.group(-100556, "Nhóm thường", supergroup=True, bot_status="administrator")
    # The bot is not an administrator yet: no right to manage topics.
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await ptb.create_forum_topic(forum.id, "Đất đai")
    fake.group(-100555, "Kiểm duyệt", supergroup=True, forum=True, bot_status="administrator")
    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await ptb.create_forum_topic(plain.id, "Đất đai")
    with pytest.raises(BadRequest, match=r"(?i)TOPIC_NAME_EMPTY"):
        await ptb.create_forum_topic(forum.id, " ")
    topic = await ptb.create_forum_topic(forum.id, "Đất đai")
    assert topic.name == "Đất đai" and topic.message_thread_id > 0
    assert fake.topic_by_name(forum, "Đất đai").message_thread_id == topic.message_thread_id
    chat = await ptb.get_chat(forum.id)
    assert chat.is_forum is True
    assert not (await ptb.get_chat(plain.id)).is_forum

    sent = await ptb.send_message(forum.id, "Ý kiến #1", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    photo = await ptb.send_photo(
        forum.id, b"\x89PNG\r\n\x1a\n" + b"\0" * 40, message_thread_id=topic.message_thread_id
    )
    assert photo.message_thread_id == topic.message_thread_id
    assert [m.message_id for m in fake.topic_messages(forum, topic.message_thread_id)] == [
        sent.message_id,
        photo.message_id,
    ]
    # A user's reply stays in the topic.
    fake.send_text(forum, alice, "Tôi nhận", reply_to=sent.message_id)
    assert fake.messages(forum)[-1].thread_id == topic.message_thread_id
    # Unknown topics, topics in non-forum chats, closed and deleted topics fail.
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(forum.id, "x", message_thread_id=99999)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(plain.id, "x", message_thread_id=topic.message_thread_id)
    await ptb.close_forum_topic(forum.id, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)TOPIC_CLOSED"):
        await ptb.send_message(forum.id, "x", message_thread_id=topic.message_thread_id)
    await ptb.reopen_forum_topic(forum.id, topic.message_thread_id)
    await ptb.delete_forum_topic(forum.id, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(forum.id, "x", message_thread_id=topic.message_thread_id)
    assert fake.topic_by_name(forum, "Đất đai") is None
