"""End to end: the real Application from bot/app.py against the fake Bot API."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import ExtBot

from bot.store import people
from bot.tg.pacer import Pacer
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault, Limits
from tests.harness import RunningBot, eventually


async def test_start_replies_in_vietnamese_and_records_the_user(
    fake: FakeTelegram, bot: RunningBot
) -> None:
    an = fake.user(1001, "An", username="an", language_code="vi")
    chat = fake.private_chat(an)
    fake.send_text(chat, an, "/start")
    reply = await fake.wait_for_message(chat, contains="Xin chào An")
    assert "Loa" in reply.text and "/help" in reply.text
    user = await people.get_user(bot.svc.db, 1001)
    assert user is not None and user.name == "An" and user.language == "vi"
    stored_chat = await people.get_chat(bot.svc.db, 1001)
    assert stored_chat is not None and stored_chat.type == "private" and stored_chat.active


async def test_help_shows_staff_commands_only_to_staff(fake: FakeTelegram, bot: RunningBot) -> None:
    citizen = fake.user(1002, "Bình")
    admin = fake.user(ADMIN_ID, "Quản trị")
    for user in (citizen, admin):
        fake.send_text(fake.private_chat(user), user, "/help")
    citizen_help = await fake.wait_for_message(1002, contains="Các lệnh")
    admin_help = await fake.wait_for_message(ADMIN_ID, contains="Các lệnh")
    assert "chủ sở hữu" in admin_help.text
    assert "chủ sở hữu" not in citizen_help.text
    staff_only = {c.name for c in bot.svc.commands if c.permission is not None}
    for name in staff_only:
        assert f"/{name} " not in citizen_help.text
        assert f"/{name}" in admin_help.text


async def test_command_menus_are_published(fake: FakeTelegram, bot: RunningBot) -> None:
    calls = fake.calls_to("setMyCommands")
    assert calls, "setMyCommands was not called"
    public = [c["command"] for c in calls[0].params["commands"]]
    assert "start" in public and "help" in public
    for command in calls[0].params["commands"]:
        assert 1 <= len(command["description"]) <= 256


async def test_unknown_command_and_stray_text_get_a_hint(
    fake: FakeTelegram, bot: RunningBot
) -> None:
    user = fake.user(1003, "Chi")
    chat = fake.private_chat(user)
    fake.send_text(chat, user, "/khonglenhnao")
    await fake.wait_for_message(chat, contains="Lệnh không đúng")
    fake.send_text(chat, user, "xin chào")
    await fake.wait_for_message(chat, contains="/help")
    fake.send_sticker(chat, user)
    await eventually(lambda: len(fake.bot_messages(chat)) == 3)


async def test_forged_button_is_answered_not_crashed(fake: FakeTelegram, bot: RunningBot) -> None:
    user = fake.user(1004, "Dũng")
    chat = fake.private_chat(user)
    fake.send_text(chat, user, "/start")
    welcome = await fake.wait_for_message(chat, contains="Xin chào")
    query_id = fake.press_button(chat, user, welcome.message_id, "zz:garbage", check=False)
    await eventually(lambda: query_id in fake.callback_answers)
    assert "hết hạn" in str(fake.callback_answers[query_id])


async def test_membership_changes_deactivate_and_reactivate(
    fake: FakeTelegram, bot: RunningBot
) -> None:
    admin = fake.user(1005, "Hà")
    group = fake.group(-3001, "Chi bộ khu phố 3", admins=[admin])
    fake.bot_added(group, admin)
    await eventually(lambda: people.get_chat(bot.svc.db, -3001))
    fake.bot_removed(group, admin)

    async def inactive() -> bool:
        chat = await people.get_chat(bot.svc.db, -3001)
        return chat is not None and not chat.active and chat.inactive_reason == "removed"

    await eventually(inactive)
    fake.bot_added(group, admin)

    async def active() -> bool:
        chat = await people.get_chat(bot.svc.db, -3001)
        return chat is not None and chat.active

    await eventually(active)


async def test_pacer_keeps_a_strict_fake_at_zero_violations(fake: FakeTelegram) -> None:
    """60 messages to 30 chats plus 3 to one chat: no 429 provoked, near the rate limit."""
    fake.limits = Limits(enabled=True, global_per_second=30, chat_per_second=1)
    users = [fake.user(5000 + i, f"U{i}") for i in range(30)]
    for user in users:
        fake.private_chat(user)
    pacer = Pacer(global_per_second=30, group_per_minute=20, chat_per_second=1)
    bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=pacer)
    async with bot:
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def send(chat_id: int, text: str) -> Any:
            return await bot.send_message(chat_id, text, rate_limit_args={"bulk": True})

        jobs = [send(u.id, f"tin {n}") for n in range(2) for u in users]
        jobs += [send(users[0].id, f"thêm {n}") for n in range(3)]
        await asyncio.gather(*jobs)
        elapsed = loop.time() - started
    assert fake.stats.violations == 0
    assert pacer.retry_after_count == 0
    assert fake.stats.sends == 63
    # 63 sends at 30/s need at least ~2 s; users[0] alone needs 4 s (5 messages, 1/s).
    assert 4.0 <= elapsed < 8.0


async def test_pacer_pauses_on_429_and_retries_replies(fake: FakeTelegram) -> None:
    user = fake.user(6001, "Em")
    fake.private_chat(user)
    fake.add_fault(Fault.retry_after(1), method="sendMessage")
    pacer = Pacer()
    bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=pacer)
    async with bot:
        message = await bot.send_message(user.id, "xin chào")
    assert message.text == "xin chào"
    assert pacer.retry_after_count == 1
    assert len(fake.bot_messages(user.id)) == 1


async def test_edited_messages_are_not_processed_twice(fake: FakeTelegram, bot: RunningBot) -> None:
    user = fake.user(1006, "Giang")
    chat = fake.private_chat(user)
    original = fake.send_text(chat, user, "/start")["message"]
    await fake.wait_for_message(chat, contains="Xin chào")
    edited = {**original, "text": "/help", "edit_date": original["date"] + 5}
    fake.push_update({"edited_message": edited})
    await fake.wait_for_message(chat, contains="tin nhắn đã sửa")
    await asyncio.sleep(0.3)
    texts = [m.text or "" for m in fake.bot_messages(chat)]
    assert not any("Các lệnh" in t for t in texts), texts
