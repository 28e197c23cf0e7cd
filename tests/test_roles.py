"""Roles and audit: /grant, /revoke_role, /admins, /audit, `loa audit`, command menus."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import ops as cli_ops
from bot.cli.common import UsageError
from bot.domain.roles import Role
from bot.store import staff
from bot.store.db import Database
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, make_settings

OWNER = ADMIN_ID


async def grant_row(bot: RunningBot, user_id: int) -> str | None:
    return await bot.svc.db.fetch_value(
        "SELECT role FROM staff_roles WHERE user_id = ?", (user_id,)
    )


async def audit_rows(bot: RunningBot) -> list[tuple]:
    rows = await bot.svc.db.fetch_all(
        "SELECT actor_id, actor_role, action, target, detail FROM audit_log ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def say(fake: FakeTelegram, user_id: int, text: str, name: str = "User") -> str:
    """Send `text` in the user's private chat and return the bot's next reply text."""
    user = fake.user(user_id, name)
    chat = fake.private_chat(user)
    after = max((m.message_id for m in fake.messages(chat)), default=0)
    fake.send_text(chat, user, text)
    msg = await fake.wait_for_message(chat, after=after + 1)
    return msg.content


async def test_grant_then_revoke_records_audit_and_refreshes_menu(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    fake.user(1001, "Lan", username="lan_bt")
    fake.private_chat(1001)
    text = await say(fake, OWNER, "/grant 1001 editor", "Chủ")
    assert "Đã cấp vai trò biên tập viên" in text
    assert await grant_row(bot, 1001) == "editor"
    # The new editor is told, and gets the editor menu (content commands, no /grant).
    await fake.wait_for_message(1001, contains="biên tập viên")
    menu = await fake.wait_for(lambda: fake.my_commands({"type": "chat", "chat_id": 1001}))
    names = {c["command"] for c in menu}
    assert "canbo" in names and "capquyen" not in names and "thongke" not in names
    assert "napbai" in names and not names & {"admins", "grant", "reload"}  # no aliases
    assert await bot.svc.may(1001, "content")

    text = await say(fake, OWNER, "/revoke_role 1001", "Chủ")
    assert "Đã thu hồi vai trò biên tập viên" in text
    assert await grant_row(bot, 1001) is None
    assert not await bot.svc.may(1001, "staff")
    await fake.wait_for(lambda: fake.calls_to("deleteMyCommands"))
    rows = await audit_rows(bot)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (OWNER, "owner", "role.grant", "1001"),
        (OWNER, "owner", "role.revoke", "1001"),
    ]
    assert json.loads(rows[0][4]) == {"previous": None, "role": "editor"}
    assert json.loads(rows[1][4]) == {"previous": "editor", "role": None}


async def test_grant_by_reply_and_by_username(bot_factory: Any, fake: FakeTelegram) -> None:
    # By reply in the admin group: staff output never appears in other groups (issue 10).
    bot = await bot_factory(admin_chat_id=-100500)
    owner = fake.user(OWNER, "Chủ")
    target = fake.user(2002, "Minh", username="minh_kd")
    group = fake.group(-100500, "Ban Tuyên giáo", supergroup=True, members=[owner, target])
    fake.send_text(group, target, "xin chào")
    hello = fake.messages(group)[-1]
    fake.send_text(group, owner, "/grant moderator", reply_to=hello.message_id)
    await fake.wait_for_message(group, contains="kiểm duyệt viên")
    assert await grant_row(bot, 2002) == "moderator"
    # @username works once the bot has seen the user (the group message above).
    text = await say(fake, OWNER, "/grant @minh_kd admin", "Chủ")
    assert "quản trị viên" in text and "trước đó: kiểm duyệt viên" in text
    assert await grant_row(bot, 2002) == "admin"
    # Same role again: nothing changes, no audit entry.
    text = await say(fake, OWNER, "/grant 2002 quản trị", "Chủ")
    assert "không có gì thay đổi" in text
    assert len(await audit_rows(bot)) == 2


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (f"/grant {OWNER} editor", "chủ sở hữu"),
        (f"/revoke_role {OWNER}", "chủ sở hữu"),
        ("/grant 3003 owner", "Không thể cấp quyền chủ sở hữu"),
        ("/grant 3003 boss", "không hợp lệ"),
        ("/grant 3003", "Cách dùng"),
        ("/grant", "Cách dùng"),
        ("/revoke_role abc", "Cách dùng"),
    ],
)
async def test_refused_changes(
    bot: RunningBot, fake: FakeTelegram, command: str, expected: str
) -> None:
    text = await say(fake, OWNER, command, "Chủ")
    assert expected in text
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM staff_roles") == 0
    assert await audit_rows(bot) == []


async def test_admin_may_manage_but_not_owners_or_self(bot: RunningBot, fake: FakeTelegram) -> None:
    fake.private_chat(fake.user(4004, "Quản"))
    await say(fake, OWNER, "/grant 4004 admin", "Chủ")
    await fake.wait_for_message(4004, contains="Bạn vừa được cấp vai trò quản trị viên")
    assert "Đã cấp vai trò biên tập viên" in await say(fake, 4004, "/grant 4005 editor")
    assert "chủ sở hữu" in await say(fake, 4004, f"/revoke_role {OWNER}")
    assert "Không thể cấp quyền chủ sở hữu" in await say(fake, 4004, "/grant 4005 owner")
    assert "tự thay đổi" in await say(fake, 4004, "/revoke_role 4004")
    # An editor may not grant; the check uses the role at the moment of the command.
    assert "không có quyền" in await say(fake, 4005, "/grant 4006 editor")
    await say(fake, OWNER, "/revoke_role 4004", "Chủ")
    await fake.wait_for_message(4004, contains="đã được thu hồi")
    assert "không có quyền" in await say(fake, 4004, "/grant 4006 editor")
    assert await grant_row(bot, 4006) is None
    actions = [(r[0], r[1], r[2], r[3]) for r in await audit_rows(bot)]
    assert actions == [
        (OWNER, "owner", "role.grant", "4004"),
        (4004, "admin", "role.grant", "4005"),
        (OWNER, "owner", "role.revoke", "4004"),
    ]


async def test_admins_lists_owners_and_grants(bot: RunningBot, fake: FakeTelegram) -> None:
    fake.user(5005, "Hoa", username="hoa")
    fake.send_text(fake.private_chat(5005), 5005, "/start")
    await fake.wait_for_message(5005, contains="Xin chào")
    await say(fake, OWNER, "/grant 5005 moderator", "Chủ")
    await fake.wait_for_message(5005, contains="Bạn vừa được cấp vai trò")
    text = await say(fake, OWNER, "/admins", "Chủ")
    assert str(OWNER) in text
    assert "Kiểm duyệt viên (1)" in text and "Hoa (@hoa)" in text and "5005" in text
    assert "Biên tập viên (0)" in text
    # A moderator (staff) may look; a citizen may not.
    assert "Kiểm duyệt viên (1)" in await say(fake, 5005, "/admins")
    assert "không có quyền" in await say(fake, 5006, "/admins")


async def test_audit_command_shows_local_times(bot: RunningBot, fake: FakeTelegram) -> None:
    at = int(datetime(2022, 4, 8, 1, 30, tzinfo=bot.settings.tz).timestamp())
    async with bot.svc.db.transaction() as conn:
        for i in range(30):
            await staff.record_audit(
                conn,
                at=at + i * 60,
                actor_id=OWNER,
                actor_role="owner",
                action="test.action",
                target=f"t{i}",
                detail={"n": i},
            )
    text = await say(fake, OWNER, "/audit 3", "Chủ")
    assert "3 mục mới nhất" in text
    assert "08/04/2022 01:59" in text and "→ t29" in text and "n=29" in text
    assert "t26" not in text
    text = await say(fake, OWNER, "/audit", "Chủ")
    assert "20 mục mới nhất" in text
    assert "số dòng" in await say(fake, OWNER, "/audit nhiều", "Chủ")


def test_loa_audit_cli_prints_since_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/bot")
    tz = settings.tz

    async def fill() -> None:
        async with Database(settings.db_path) as db, db.transaction() as conn:
            for day in (1, 5, 9):
                at = int(datetime(2022, 4, day, 9, 0, tzinfo=tz).timestamp())
                await staff.record_audit(
                    conn,
                    at=at,
                    actor_id=7,
                    actor_role=Role.ADMIN.value,
                    action=f"a{day}",
                    target="x",
                )

    asyncio.run(fill())
    args = argparse.Namespace(since="2022-04-05", limit=1000)
    assert cli_ops.cmd_audit(args, settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[3] for line in out] == ["a5", "a9"]
    assert out[0].startswith("05/04/2022 09:00\t7\tadmin\ta5\tx")
    # dd/mm/yyyy works as well (one date parser for every command); nonsense is refused.
    assert cli_ops.cmd_audit(argparse.Namespace(since="05/04/2022", limit=5), settings) == 0
    with pytest.raises(UsageError):
        cli_ops.cmd_audit(argparse.Namespace(since="5 tháng 4", limit=5), settings)
