"""/admins with many grants, /grant with absurd ids, and LoaError alerts as plain text."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bot.domain.errors import InvalidInput
from bot.domain.text import TELEGRAM_TEXT_LIMIT, utf16_len
from bot.handlers.base import user_errors
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

STAFF = 300


async def test_admins_with_hundreds_of_grants_is_split(bot: RunningBot, fake: FakeTelegram) -> None:
    async with bot.svc.db.transaction() as conn:
        for i in range(STAFF):
            uid = 700_000 + i
            await conn.execute(
                "INSERT INTO users (id, name, username, language, first_seen, last_seen)"
                " VALUES (?, ?, ?, 'vi', 0, 0)",
                (uid, f"Cán bộ <{i}> & Phòng Tuyên truyền số {i}", f"canbo_{i}"),
            )
            await conn.execute(
                "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
                " VALUES (?, ?, ?, 0)",
                (uid, ("admin", "editor", "moderator")[i % 3], ADMIN_ID),
            )
    admin = fake.user(ADMIN_ID, "Chủ")
    chat = fake.private_chat(admin)
    fake.send_text(chat, admin, "/admins")

    def shown() -> str:
        return "\n".join(m.text or "" for m in fake.bot_messages(chat))

    await eventually(lambda: all(str(700_000 + i) in shown() for i in range(STAFF)), timeout=10)
    replies = fake.bot_messages(chat)
    assert len(replies) >= 2
    for m in replies:
        assert m.text is not None and utf16_len(m.text) <= TELEGRAM_TEXT_LIMIT
    assert "Cán bộ <7> & Phòng Tuyên truyền số 7" in shown()  # escaped, then shown as is
    assert shown().count(f"({STAFF // 3}):") == 3  # each role's header, counted once


async def test_grant_with_an_absurd_id_says_so(bot: RunningBot, fake: FakeTelegram) -> None:
    admin = fake.user(ADMIN_ID, "Chủ")
    chat = fake.private_chat(admin)
    for i, number in enumerate(("99999999999999999999", "9223372036854775808", "4503599627370497")):
        fake.send_text(chat, admin, f"/grant {number} moderator")
        await eventually(lambda n=i: len(fake.bot_messages(chat)) > n)
        answer = fake.bot_messages(chat)[-1].text or ""
        assert "quá lớn" in answer, answer
        assert "Đã có lỗi" not in answer
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM staff_roles") == 0


async def test_button_alert_of_a_domain_error_is_plain_text() -> None:
    answered: list[tuple[str, dict[str, Any]]] = []

    class Bot:  # a transport stand-in: bot.tg.raw calls do_api_request on other transports
        async def do_api_request(self, method: str, api_kwargs: Any, **_: Any) -> bool:
            answered.append((method, api_kwargs))
            return True

    @user_errors
    async def handler(update: Any, context: Any) -> None:
        raise InvalidInput("Tệp <code>a&amp;b.md</code> có &lt;lỗi&gt; ở dòng 3.")

    bot = Bot()
    update = SimpleNamespace(callback_query=SimpleNamespace(id="q1"), get_bot=lambda: bot)
    await handler(update, None)
    text = "Tệp a&b.md có <lỗi> ở dòng 3."
    params = {"callback_query_id": "q1", "text": text, "show_alert": True}
    assert answered == [("answerCallbackQuery", params)]
