"""Black box: a real `loa run` process driven from outside through a strict fake Telegram.

The fake enforces Telegram's limits as strict windows (30/s, 1/s per chat, 20/min per
group). One walk through what the office's users do: a citizen reads and searches, a
ward group subscribes and is approved, the owner sends the quarterly directive, the
group acknowledges it, a citizen comments and a moderator approves. No 429 may be
provoked, the process must stop cleanly on SIGTERM, and the token must never be logged.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Limits, StoredMessage
from tests.harness import TEST_TOKEN
from tests.subprocess_bot import loa_env, spawn_loa

ROOT = Path(__file__).resolve().parent.parent
ADMIN_CHAT = -100900


def button(message: StoredMessage, prefix: str) -> str:
    """The callback_data of the first button starting with prefix."""
    for row in message.inline_keyboard:
        for b in row:
            if b.get("callback_data", "").startswith(prefix):
                return str(b["callback_data"])
    raise AssertionError(f"no {prefix!r} button in {message.inline_keyboard}")


async def test_loa_run_end_to_end(tmp_path: Path, fake: FakeTelegram) -> None:
    fake.limits = Limits(enabled=True)
    shutil.copytree(ROOT / "content", tmp_path / "content")
    owner = fake.user(ADMIN_ID, "Chủ")
    owner_chat = fake.private_chat(owner)
    fake.group(ADMIN_CHAT, "Tổ kiểm duyệt", supergroup=True, admins=[owner])
    citizen = fake.user(700001, "Lan")
    dm = fake.private_chat(citizen)
    cadre = fake.user(700002, "Tuấn")
    ward = fake.group(-4001, "Chi bộ phường Chi Lăng", admins=[cadre])

    env = loa_env(
        tmp_path,
        fake,
        LOA_DB_PATH=str(tmp_path / "data" / "loa.db"),
        LOA_ADMIN_IDS=str(ADMIN_ID),
        LOA_ADMIN_CHAT_ID=str(ADMIN_CHAT),
    )
    log = tmp_path / "loa.log"
    proc = await spawn_loa(tmp_path, env, log)
    try:
        # A citizen reads the news, opens the sample article, searches without diacritics.
        fake.send_text(dm, citizen, "/start")
        await fake.wait_for_message(dm, "Xin chào Lan", timeout=20)
        fake.send_text(dm, citizen, "/tin")
        listing = await fake.wait_for_message(dm, "Giao ban", timeout=10)
        fake.press_button(dm, citizen, listing.message_id, button(listing, "ar:o:"))
        card = await fake.wait_for_message(dm, "350", after=listing.message_id, timeout=10)
        assert "12.000" in card.text and "COVID" not in card.text.split("Số liệu")[-1]
        fake.send_text(dm, citizen, "/timkiem thanh uy lang son")
        found = await fake.wait_for_message(dm, "Thành ủy Lạng Sơn", after=card.message_id)
        assert "Không tìm thấy" not in found.text

        # The ward group subscribes; its admin asks, the owner approves it as a cadre chat.
        fake.bot_added(ward, cadre)
        fake.send_text(ward, cadre, "/dangky")
        await fake.wait_for_message(ward, "đăng ký", timeout=10)
        notice = await fake.wait_for_message(ADMIN_CHAT, "Chi bộ phường Chi Lăng", timeout=10)
        fake.press_button(ADMIN_CHAT, owner, notice.message_id, button(notice, "sub:ok:"))
        await fake.wait_for(lambda: bool(fake.message(ADMIN_CHAT, notice.message_id).edits))

        # The owner sends the quarterly directive; the approved group gets it with [Đã nhận].
        fake.send_text(owner_chat, owner, "/directive 2022-Q2")
        preview = await fake.wait_for_message(owner_chat, "quý II/2022", timeout=10)
        assert button(preview, "ack:")  # the preview shows what recipients will see
        control = await fake.wait_for_message(owner_chat, "Số cuộc trò chuyện sẽ nhận: 1")
        fake.press_button(owner_chat, owner, control.message_id, button(control, "bc:go:"))
        directive = await fake.wait_for_message(ward, "quý II", timeout=20)
        fake.press_button(ward, cadre, directive.message_id, button(directive, "ack:"))
        await fake.wait_for(
            lambda: "1" in str(fake.message(ward, directive.message_id).inline_keyboard),
            timeout=10,
        )

        # A citizen comments on the article; a moderator approves it.
        fake.send_text(dm, citizen, "/ykien Đề nghị phường tổ chức thêm buổi tuyên truyền.")
        confirm = await fake.wait_for_message(dm, "Xem lại", after=found.message_id)
        fake.press_button(dm, citizen, confirm.message_id, "ykc:s")
        await fake.wait_for(lambda: "#" in (fake.message(dm, confirm.message_id).text or ""))
        mod = await fake.wait_for_message(ADMIN_CHAT, "tuyên truyền", timeout=10)
        fake.press_button(ADMIN_CHAT, owner, mod.message_id, button(mod, "ykm:a:"))
        await fake.wait_for(lambda: bool(fake.message(ADMIN_CHAT, mod.message_id).edits))

        # Stops cleanly on SIGTERM.
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    output = log.read_text(encoding="utf-8", errors="replace")
    assert TEST_TOKEN not in output
    assert "Traceback" not in output, output[-3000:]
    assert fake.stats.violations == 0, fake.stats
