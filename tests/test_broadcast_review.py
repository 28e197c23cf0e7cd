"""Review findings on broadcasts, end to end through the fake Bot API: two-person rule for
every audience, migrations, edits after revocation, where internal commands work, broken
directive files, HTML-safe usage texts, long lists, automatic directives, /chidao, huge
ids, stale buttons and failed outcome writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.store import drafts, outbox
from bot.store import subscriptions as subs
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import RunningBot, eventually
from tests.test_broadcast_e2e import (
    ADMIN_CHAT,
    EDITOR,
    GROUP_ADMIN,
    _announce,
    _approve,
    _bid,
    _cb,
    _confirm_edit,
    _subscribe_group,
    _write_directive,
)

PLACE = "chỉ làm trong cuộc trò chuyện riêng với bot hoặc trong nhóm quản trị"


async def _value(bot: RunningBot, sql: str, params: tuple = ()) -> Any:
    return await bot.svc.db.fetch_value(sql, params)


async def _grant(bot: RunningBot, user_id: int, role: str) -> None:
    await bot.svc.db.execute(
        "INSERT INTO staff_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, 0)",
        (user_id, role, ADMIN_ID),
    )


def _last_id(fake: FakeTelegram, chat_id: int) -> int:
    return max([0, *[m.message_id for m in fake.messages(chat_id)]])


async def _say(fake: FakeTelegram, chat_id: int, user_id: int, text: str, expect: str) -> Any:
    after = _last_id(fake, chat_id)
    fake.send_text(chat_id, user_id, text)
    return await fake.wait_for_message(chat_id, expect, after=after)


def _texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.content for m in fake.bot_messages(chat_id)]


def _admin_chat(fake: FakeTelegram) -> None:
    fake.user(ADMIN_ID, "Chủ")
    fake.group(ADMIN_CHAT, "Ban Tuyên giáo", admins=[ADMIN_ID])


def _directive_file(
    bot: RunningBot,
    name: str,
    quarter: str,
    body: str,
    *,
    publish_at: int | None = None,
    units: str | None = None,
) -> Path:
    folder = bot.settings.content_dir / "directives"
    folder.mkdir(parents=True, exist_ok=True)
    return _write_file(folder / name, quarter, body, publish_at, units, bot.settings.tz)


def _write_file(
    path: Path, quarter: str, body: str, publish_at: int | None, units: str | None, tz: Any
) -> Path:
    head = [f"quarter: {quarter}", f"title: Chỉ đạo {quarter}"]
    if publish_at is not None:
        head.append(f"publish_at: {clock.format_local(publish_at, tz)}")
    if units is not None:
        head.append(f"units: {units}")
    path.write_text("---\n" + "\n".join(head) + f"\n---\n{body}\n", "utf-8")
    return path


# --- 1. an editor's broadcast reaching cadre chats needs an admin's [Duyệt] ------------------


async def test_editor_all_or_topic_reaching_cadre_needs_approval(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    await _grant(bot, EDITOR, "editor")
    _admin_chat(fake)
    await _subscribe_group(fake, -1301, "Chi bộ cán bộ", GROUP_ADMIN)
    await _approve(bot, fake, -1301)
    citizen = fake.private_chat(fake.user(700501, "Dân"))
    await _say(fake, citizen.id, 700501, "/dangky tuyen-truyen", "Đã đăng ký")
    waiting = {}
    for key in ("all", "topic:tuyen-truyen"):
        chat, control = await _announce(fake, EDITOR, f"Tin biên tập {key}")
        bid = _bid(control)
        if key != "all":
            fake.press_button(
                chat,
                EDITOR,
                control.message_id,
                _cb(fake, chat, control.message_id, f"bc:a:{bid}:{key}"),
            )
            await fake.wait_for(
                lambda c=chat, m=control.message_id: "✓ Chủ đề" in str(fake.message(c, m).buttons)
            )
        fake.press_button(
            chat, EDITOR, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
        )
        await fake.wait_for_message(chat, f"Bản tin #{bid} sẽ tới nhóm cán bộ")
        waiting[key] = await fake.wait_for_message(
            ADMIN_CHAT,
            f"bản tin #{bid}",
            predicate=lambda m, b=bid: any(
                x.get("callback_data", "").startswith(f"bc:ok:{b}:") for x in m.buttons
            ),
        )
        assert await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == (
            "awaiting_approval"
        )
        assert not await _value(
            bot, "SELECT COUNT(*) FROM deliveries WHERE broadcast_id = ?", (bid,)
        )
    assert not any("Tin biên tập" in t for t in _texts(fake, -1301))
    assert not any("Tin biên tập" in t for t in _texts(fake, citizen.id))
    # A public announcement reaches no cadre chat: it goes out directly.
    chat, control = await _announce(fake, EDITOR, "Tin công khai của biên tập")
    bid = _bid(control)
    fake.press_button(
        chat, EDITOR, control.message_id, _cb(fake, chat, control.message_id, f"bc:a:{bid}:public")
    )
    await fake.wait_for(
        lambda: "✓ Công khai" in str(fake.message(chat, control.message_id).buttons)
    )
    fake.press_button(
        chat, EDITOR, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    await fake.wait_for_message(citizen.id, "Tin công khai của biên tập")
    # An admin approves the topic one: now the cadre chat gets it.
    topic = waiting["topic:tuyen-truyen"]
    topic_id = int(topic.buttons[0]["callback_data"].split(":")[2])
    fake.press_button(
        ADMIN_CHAT,
        ADMIN_ID,
        topic.message_id,
        _cb(fake, ADMIN_CHAT, topic.message_id, f"bc:ok:{topic_id}"),
    )
    await fake.wait_for_message(-1301, "Tin biên tập topic:tuyen-truyen")
    await fake.wait_for_message(citizen.id, "Tin biên tập topic:tuyen-truyen")
    assert not any("Tin công khai" in t for t in _texts(fake, -1301))


# --- 2. group → supergroup migration -------------------------------------------------------


async def _migration_setup(bot: RunningBot, fake: FakeTelegram, old: int, new: int) -> None:
    await _subscribe_group(fake, old, "Nhóm cũ", GROUP_ADMIN)
    await _approve(bot, fake, old)
    await bot.svc.db.execute("UPDATE subscriptions SET unit = 'phuong-a' WHERE chat_id = ?", (old,))
    # The supergroup is already known: someone typed /dangky there (pending).
    fake.group(new, "Nhóm cũ", supergroup=True, admins=[GROUP_ADMIN])
    await _say(fake, new, GROUP_ADMIN, "/dangky", "Đã đăng ký")
    fake.add_fault(Fault.migrate(new), method="sendMessage", chat_id=old)
    _write_directive(bot)


async def _send_directive(fake: FakeTelegram) -> int:
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    control = await _say(fake, chat.id, ADMIN_ID, "/directive 2022-Q2", "Số cuộc trò chuyện")
    bid = _bid(control)
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    return bid


async def test_migration_into_a_rejected_chat_does_not_leak(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    old, new = -1311, -1009311
    await _migration_setup(bot, fake, old, new)
    # ... and an admin had rejected that id as a cadre chat.
    await subs.set_approval(
        bot.svc.db, new, "rejected", actor_id=ADMIN_ID, actor_role="owner", now=clock.now()
    )
    bid = await _send_directive(fake)

    async def skipped() -> bool:
        row = await bot.svc.db.fetch_one(
            "SELECT chat_id, state, last_error FROM deliveries WHERE broadcast_id = ?", (bid,)
        )
        return row is not None and tuple(row) == (new, "skipped", "not an approved cadre chat")

    await eventually(skipped, timeout=6)
    assert not any("CHỈ ĐẠO" in t for t in _texts(fake, new))


async def test_migration_keeps_approval_and_unit(bot: RunningBot, fake: FakeTelegram) -> None:
    old, new = -1312, -1009312
    await _migration_setup(bot, fake, old, new)
    await _send_directive(fake)
    await fake.wait_for_message(new, "CHỈ ĐẠO QUÝ II/2022", timeout=6)
    sub = await subs.get_subscription(bot.svc.db, new)
    assert sub is not None and sub.is_cadre and sub.unit == "phuong-a" and sub.active
    assert sum("CHỈ ĐẠO" in t for t in _texts(fake, new)) == 1


# --- 3. [Sửa] skips chats no longer eligible; [Thu hồi] goes everywhere ----------------------


async def test_edit_skips_revoked_chat_and_delete_goes_everywhere(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    for cid in (-1321, -1322):
        await _subscribe_group(fake, cid, f"Tổ {cid}", GROUP_ADMIN)
        await _approve(bot, fake, cid)
    chat, control = await _announce(fake, ADMIN_ID, "Nội bộ: họp lúc 8 giờ")
    bid = _bid(control)
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:a:{bid}:cadre")
    )
    await fake.wait_for(lambda: "✓ Cán bộ" in str(fake.message(chat, control.message_id).buttons))
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    originals = {c: await fake.wait_for_message(c, "họp lúc 8 giờ") for c in (-1321, -1322)}
    await _say(fake, chat.id, ADMIN_ID, "/revoke -1322", "thu hồi quyền nhóm cán bộ")
    view = await _say(fake, chat.id, ADMIN_ID, f"/broadcast {bid}", f"#{bid}")
    fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:edit:{bid}")
    )
    await fake.wait_for_message(chat, "Gửi nội dung mới")
    fake.send_text(chat, ADMIN_ID, "Nội bộ: họp lúc 9 giờ, có tài liệu mật")
    await _confirm_edit(fake, chat)
    report = await fake.wait_for_message(chat, "Đã sửa bản tin", timeout=8)
    assert "1 tin nhắn đã sửa, 0 không sửa được" in report.content
    assert "1 tin nhắn không sửa vì nhóm không còn được nhận" in report.content
    assert "tài liệu mật" in fake.message(-1321, originals[-1321].message_id).content
    assert fake.message(-1322, originals[-1322].message_id).content == "Nội bộ: họp lúc 8 giờ"
    assert not any("tài liệu mật" in t for t in _texts(fake, -1322))
    row = await bot.svc.db.fetch_one(
        "SELECT state, last_error FROM message_ops WHERE chat_id = -1322"
    )
    assert row[0] == "skipped" and row[1].startswith("not eligible")
    # removing the internal text is always allowed, in the revoked chat too (from a fresh
    # view: the old one's buttons carry the text before the edit and are refused)
    stale = fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:del:{bid}")
    )
    await fake.wait_for(lambda: fake.callback_answers.get(stale))
    assert "đã thay đổi" in fake.callback_answers[stale]["text"]
    view = await _say(fake, chat.id, ADMIN_ID, f"/broadcast {bid}", f"#{bid}")
    fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:del:{bid}")
    )
    deleted = await fake.wait_for_message(chat, "Thu hồi bản tin", timeout=8)
    assert "đã xóa 2 tin nhắn; 0 không xóa được" in deleted.content
    assert all(fake.message(c, m.message_id).deleted for c, m in originals.items())


# --- 4. internal commands only in private or in the admin group ------------------------------


async def test_internal_commands_refused_in_public_groups(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    _admin_chat(fake)
    fake.group(-1331, "Nhóm công khai", admins=[ADMIN_ID])
    _write_directive(bot)
    for command in (
        "/directive 2022-Q2",
        "/thongbao Tin nội bộ",
        "/announce",
        "/broadcasts",
        "/broadcast 1",
        "/acks 1",
        "/subscribers",
    ):
        await _say(fake, -1331, ADMIN_ID, command, PLACE)
    fake.send_text(-1331, ADMIN_ID, "Nội dung gõ sau /announce")  # no conversation started
    await _say(fake, -1331, ADMIN_ID, "/broadcasts", PLACE)
    assert not any("CHỈ ĐẠO" in t or "Xem trước" in t for t in _texts(fake, -1331))
    assert await _value(bot, "SELECT COUNT(*) FROM broadcasts") == 0
    # The admin group and a private chat are fine.
    await _say(fake, ADMIN_CHAT, ADMIN_ID, "/directive 2022-Q2", "Số cuộc trò chuyện sẽ nhận")
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    await _say(fake, owner.id, ADMIN_ID, "/broadcasts", "Bản tin gần đây")


# --- 5. a broken directive file never stops the bot ------------------------------------------


async def test_broken_directive_file_does_not_stop_the_bot(
    bot_factory: Any, fake: FakeTelegram, tmp_path: Path
) -> None:
    folder = tmp_path / "content" / "directives"
    folder.mkdir(parents=True)
    soon = clock.now() + 3600
    (folder / "bad.md").write_text(
        "---\nquarter: 2031-Q2\ntitle: Hỏng\nunits: 5\n---\nNội dung\n", "utf-8"
    )
    (folder / "bad2.md").write_text(
        "---\nquarter: 2031-Q3\ntitle: [a]\npublish_at: 5\n---\nNội dung\n", "utf-8"
    )
    import zoneinfo

    _write_file(
        folder / "good.md",
        "2031-Q1",
        "Chỉ đạo tốt",
        soon,
        None,
        zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    bot = await bot_factory()
    citizen = fake.private_chat(fake.user(700551, "Dân"))
    await _say(fake, citizen.id, 700551, "/start", "Xin chào")
    assert (
        await _value(
            bot, "SELECT COUNT(*) FROM broadcasts WHERE auto = 1 AND directive_key = '2031-Q1'"
        )
        == 1
    )


# --- 6. usage texts are HTML-safe ----------------------------------------------------------


async def test_usage_texts_render(bot: RunningBot, fake: FakeTelegram) -> None:
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    for command, expected in (
        ("/setunit 1", "Cú pháp: /gandonvi <mã nhóm> <đơn vị>"),
        ("/broadcast abc", "Cú pháp: /xembantin <số bản tin>"),
        ("/acks abc", "Cú pháp: /xacnhan <số bản tin>"),
    ):
        await _say(fake, owner.id, ADMIN_ID, command, expected)
    assert not any("Đã có lỗi" in t for t in _texts(fake, owner.id))


# --- 7. long lists are split into whole lines under 4096 -------------------------------------


async def test_long_ack_and_subscriber_lists(bot: RunningBot, fake: FakeTelegram) -> None:
    db, now = bot.svc.db, clock.now()
    groups = [
        (-2_000_000 - i, f"Chi bộ khu dân cư số {i} & tổ {i} " + " ".join(["dài"] * 15))
        for i in range(250)
    ]
    await db.executemany(
        "INSERT INTO chats (id, type, title, first_seen, last_seen) VALUES (?, 'group', ?, ?, ?)",
        [(cid, title, now, now) for cid, title in groups],
    )
    await db.executemany(
        "INSERT INTO subscriptions (chat_id, audience, approval, unit, created_at, updated_at)"
        " VALUES (?, 'cadre', 'approved', 'phuong-a', ?, ?)",
        [(cid, now, now) for cid, _ in groups],
    )
    bid = await drafts.create_draft(
        db,
        kind="directive",
        body="x",
        parts=["x"],
        audience=rules.Audience("cadre"),
        created_by=ADMIN_ID,
        now=now,
        with_ack=True,
    )
    # delivered to every group (written directly: only the listing is under test)
    await db.executemany(
        "INSERT INTO deliveries (broadcast_id, chat_id, state, message_ids)"
        " VALUES (?, ?, 'sent', '[1]')",
        [(bid, cid) for cid, _ in groups],
    )
    await db.execute(
        "UPDATE broadcasts SET state = 'done', total = ? WHERE id = ?", (len(groups), bid)
    )
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    start = _last_id(fake, owner.id)
    fake.send_text(owner, ADMIN_ID, f"/acks {bid}")
    last = await fake.wait_for_message(
        owner, predicate=lambda m: bool(m.buttons), after=start, timeout=10
    )
    messages = [m for m in fake.bot_messages(owner) if start < m.message_id <= last.message_id]
    assert len(messages) > 3 and messages[-1].buttons[0]["callback_data"].startswith(
        f"bc:remind:{bid}:"
    )
    assert all(len(m.content) <= 4096 for m in messages)
    joined = "\n".join(m.content for m in messages) + "\n"
    assert "0/250 nhóm đã xác nhận" in joined
    assert all(joined.count(f"• {title} (phuong-a)\n") == 1 for _, title in groups)
    # /subscribers: every group (more than the old silent 200), lines never cut
    start = _last_id(fake, owner.id)
    fake.send_text(owner, ADMIN_ID, "/subscribers")

    def listed() -> int:
        new = [m.content for m in fake.bot_messages(owner) if m.message_id > start]
        return "".join(new).count("nhóm cán bộ (đã duyệt)")

    await fake.wait_for(lambda: listed() >= 250, timeout=10)
    messages = [m for m in fake.bot_messages(owner) if m.message_id > start]
    assert len(messages) > 3 and all(len(m.content) <= 4096 for m in messages)
    joined = "\n".join(m.content for m in messages)
    assert all(joined.count(f"{cid}: nhóm cán bộ (đã duyệt)") == 1 for cid, _ in groups)


# --- 8. automatic directives re-read their file at publish time ------------------------------


async def _publish_now(bot: RunningBot, bid: int) -> None:
    await bot.svc.db.execute(
        "UPDATE broadcasts SET scheduled_at = ? WHERE id = ?", (clock.now() - 1, bid)
    )
    bot.svc.features["dispatcher"].wake()


async def test_auto_directive_takes_the_changed_file(
    bot_factory: Any, fake: FakeTelegram, tmp_path: Path
) -> None:
    import zoneinfo

    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    folder = tmp_path / "content" / "directives"
    folder.mkdir(parents=True)
    path = _write_file(folder / "q.md", "2031-Q1", "Nội dung ban đầu", clock.now() + 7200, None, tz)
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    _admin_chat(fake)
    for cid, unit in ((-1341, "phuong-a"), (-1342, "phuong-b")):
        await _subscribe_group(fake, cid, f"Tổ {cid}", GROUP_ADMIN)
        await _approve(bot, fake, cid)
        await subs.set_unit(bot.svc.db, cid, unit, actor_id=ADMIN_ID, actor_role="owner", now=0)
    bid = await _value(bot, "SELECT id FROM broadcasts WHERE auto = 1")
    # its own label, and no [Duyệt] that would refuse
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    listing = await _say(fake, owner.id, ADMIN_ID, "/broadcasts", f"#{bid}")
    line = next(x for x in listing.content.splitlines() if x.startswith(f"#{bid}"))
    assert "hẹn gửi tự động" in line and "chờ duyệt" not in line
    view = await _say(fake, owner.id, ADMIN_ID, f"/broadcast {bid}", f"#{bid}")
    assert not any(b["callback_data"].startswith("bc:ok:") for b in view.buttons)
    # The file changes before publish time: new text, only unit phuong-a.
    _write_file(path, "2031-Q1", "Nội dung đã sửa", clock.now() - 120, "[phuong-a]", tz)
    await _publish_now(bot, bid)
    await fake.wait_for_message(-1341, "Nội dung đã sửa", timeout=6)
    await fake.wait_for_message(ADMIN_CHAT, "tệp đã sửa sau khi hẹn giờ")
    await eventually(lambda: _is(bot, bid, "done"), timeout=6)
    assert not any("2031" in t or "Nội dung" in t for t in _texts(fake, -1342))
    assert not any("ban đầu" in t for t in _texts(fake, -1341))


async def _is(bot: RunningBot, bid: int, state: str) -> bool:
    return await _value(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,)) == state


async def test_auto_directive_cancelled_when_file_gone_or_broken(
    bot_factory: Any, fake: FakeTelegram, tmp_path: Path
) -> None:
    import zoneinfo

    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    folder = tmp_path / "content" / "directives"
    folder.mkdir(parents=True)
    later = clock.now() + 7200
    gone = _write_file(folder / "gone.md", "2031-Q1", "Sẽ bị xóa", later, None, tz)
    broken = _write_file(folder / "broken.md", "2031-Q2", "Sẽ hỏng", later, None, tz)
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    _admin_chat(fake)
    await _subscribe_group(fake, -1343, "Tổ cán bộ", GROUP_ADMIN)
    await _approve(bot, fake, -1343)
    ids = {
        r[0]: r[1]
        for r in await bot.svc.db.fetch_all(
            "SELECT directive_key, id FROM broadcasts WHERE auto = 1"
        )
    }
    gone.unlink()
    broken.write_text(broken.read_text("utf-8").replace("title:", "units: 5\ntitle:"), "utf-8")
    for bid in ids.values():
        await _publish_now(bot, bid)
    for bid in ids.values():
        await eventually(lambda b=bid: _is(bot, b, "cancelled"), timeout=6)
    reasons = {
        k: await _value(bot, "SELECT cancel_reason FROM broadcasts WHERE id = ?", (v,))
        for k, v in ids.items()
    }
    assert reasons["2031-Q1"] == "tệp chỉ đạo không còn"
    assert "có lỗi" in reasons["2031-Q2"] and "units must be labels" in reasons["2031-Q2"]
    await fake.wait_for(
        lambda: sum("không được gửi tự động" in t for t in _texts(fake, ADMIN_CHAT)) == 2
    )
    assert not await _value(bot, "SELECT COUNT(*) FROM deliveries")
    assert not any("Sẽ" in t for t in _texts(fake, -1343))


async def test_reload_hook_schedules_new_directive_files(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    _directive_file(bot, "moi.md", "2031-Q4", "Chỉ đạo mới", publish_at=clock.now() + 3600)
    assert not await _value(bot, "SELECT COUNT(*) FROM broadcasts")
    hooks = bot.svc.features["reload_hooks"]
    lines = [line for hook in hooks for line in await hook(bot.svc)]
    assert any("hẹn gửi tự động" in line for line in lines)
    assert await _value(bot, "SELECT directive_key FROM broadcasts WHERE auto = 1") == "2031-Q4"
    assert [line for hook in hooks for line in await hook(bot.svc)] == []  # idempotent


# --- 9. /chidao: only what was sent to the chat (issue 10, item 4) ---------------------------


async def test_chidao_shows_only_what_was_sent_to_the_chat(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    current = rules.quarter_of(clock.now(), bot.settings.tz)
    # A current-quarter file without publish_at, meant for one unit: nothing sent yet.
    _directive_file(bot, "nay.md", current, "Chỉ đạo riêng phường A", units="[phuong-a]")
    for cid, unit in ((-1351, "phuong-a"), (-1352, "phuong-b")):
        await _subscribe_group(fake, cid, f"Tổ {cid}", GROUP_ADMIN)
        await _approve(bot, fake, cid)
        await subs.set_unit(bot.svc.db, cid, unit, actor_id=ADMIN_ID, actor_role="owner", now=0)
    for cid in (-1351, -1352):
        reply = await _say(fake, cid, GROUP_ADMIN, "/chidao", "chưa nhận chỉ đạo")
        assert "phường A" not in reply.content
    # Sent to unit phuong-a only (the unit chosen at send time).
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    control = await _say(fake, owner.id, ADMIN_ID, f"/directive {current} phuong-a", "sẽ nhận: 1")
    fake.press_button(
        owner,
        ADMIN_ID,
        control.message_id,
        _cb(fake, owner, control.message_id, f"bc:go:{_bid(control)}"),
    )
    delivered = await fake.wait_for_message(-1351, "Chỉ đạo riêng phường A")
    copy = await _say(fake, -1351, GROUP_ADMIN, "/chidao", "Chỉ đạo riêng phường A")
    assert copy.message_id != delivered.message_id
    assert copy.buttons and copy.buttons[0]["callback_data"].startswith("ack:")
    # Its [✅ Đã nhận] counts like the delivered message's.
    fake.press_button(-1351, GROUP_ADMIN, copy.message_id, copy.buttons[0]["callback_data"])
    await eventually(lambda: _value(bot, "SELECT COUNT(*) FROM acks WHERE chat_id = -1351"))
    reply = await _say(fake, -1352, GROUP_ADMIN, "/chidao", "chưa nhận chỉ đạo")
    assert "phường A" not in reply.content


# --- 10. huge ids get a clear Vietnamese answer ----------------------------------------------


async def test_huge_ids_get_a_clear_answer(bot_factory: Any, fake: FakeTelegram) -> None:
    await bot_factory(admin_chat_id=ADMIN_CHAT)
    _admin_chat(fake)
    await _subscribe_group(fake, -1361, "Tổ 61", GROUP_ADMIN)
    notice = await fake.wait_for_message(ADMIN_CHAT, "vừa đăng ký nhận tin")
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    huge = "99999999999999999999999"
    for command in (f"/approve {huge}", f"/revoke -{huge}", f"/setunit {huge} phuong-a"):
        await _say(fake, owner.id, ADMIN_ID, command, "Mã nhóm không hợp lệ")
    qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, notice.message_id, f"sub:ok:-{huge}", check=False)
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    assert "không hợp lệ" in fake.callback_answers[qid]["text"]
    assert not any("Đã có lỗi" in t for t in _texts(fake, owner.id))
    assert not any("⚠️ Lỗi" in t for t in _texts(fake, ADMIN_CHAT))


# --- 12. stale decisions, failed outcome writes ---------------------------------------------


async def test_stale_reject_button_does_not_undo_approval(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    _admin_chat(fake)
    await _subscribe_group(fake, -1371, "Tổ 71", GROUP_ADMIN)
    notice = await fake.wait_for_message(ADMIN_CHAT, "vừa đăng ký nhận tin")
    await _approve(bot, fake, -1371)
    qid = fake.press_button(ADMIN_CHAT, ADMIN_ID, notice.message_id, "sub:no:-1371")
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    assert "đã được quyết định trước đó" in fake.callback_answers[qid]["text"]
    sub = await subs.get_subscription(bot.svc.db, -1371)
    assert sub is not None and sub.approval == "approved"
    # a fresh notice still works: pending → rejected
    await _subscribe_group(fake, -1372, "Tổ 72", GROUP_ADMIN)
    fresh = await fake.wait_for_message(ADMIN_CHAT, "Tổ 72")
    fake.press_button(ADMIN_CHAT, ADMIN_ID, fresh.message_id, "sub:no:-1372")
    await eventually(
        lambda: _value_is(
            bot, "SELECT approval FROM subscriptions WHERE chat_id = -1372", "rejected"
        )
    )


async def _value_is(bot: RunningBot, sql: str, expected: Any) -> bool:
    return await _value(bot, sql) == expected


def _flaky_record(monkeypatch: Any, failures: int) -> dict[str, int]:
    # The dispatcher records outcomes (with the marks of other deliveries) in one
    # transaction: outbox.commit_batch.
    real = outbox.commit_batch
    seen = {"failed": 0}

    async def flaky(db: Any, ids: Any, outcomes: Any, now: float) -> Any:
        if seen["failed"] < failures and any(o.state == "sent" for o in outcomes):
            seen["failed"] += 1
            raise sqlite3.OperationalError("disk I/O error")
        return await real(db, ids, outcomes, now)

    monkeypatch.setattr(outbox, "commit_batch", flaky)
    return seen


async def _citizen_announcement(bot: RunningBot, fake: FakeTelegram, uid: int, text: str) -> None:
    citizen = fake.private_chat(fake.user(uid, "Dân"))
    await _say(fake, citizen.id, uid, "/dangky", "Đã đăng ký")
    chat, control = await _announce(fake, ADMIN_ID, text)
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )


async def test_outcome_write_failure_is_retried(
    bot: RunningBot, fake: FakeTelegram, monkeypatch: Any
) -> None:
    seen = _flaky_record(monkeypatch, 1)
    await _citizen_announcement(bot, fake, 700581, "Ghi kết quả lỗi một lần")
    await eventually(
        lambda: _value_is(bot, "SELECT state FROM deliveries WHERE chat_id = 700581", "sent"),
        timeout=5,
    )
    assert seen["failed"] == 1
    assert sum("lỗi một lần" in t for t in _texts(fake, 700581)) == 1
    assert await _value(bot, "SELECT resends FROM deliveries WHERE chat_id = 700581") == 0


async def test_orphaned_sending_row_recovered_without_restart(
    bot: RunningBot, fake: FakeTelegram, monkeypatch: Any
) -> None:
    bot.svc.features["dispatcher"].stale_after = 0.3
    seen = _flaky_record(monkeypatch, 4)  # the first write and all three retries fail
    await _citizen_announcement(bot, fake, 700582, "Ghi kết quả lỗi mãi")
    await eventually(
        lambda: _value_is(bot, "SELECT state FROM deliveries WHERE chat_id = 700582", "sent"),
        timeout=10,
    )
    assert seen["failed"] == 4
    # possibly sent, so sent again: the documented cost of never losing a recipient
    assert await _value(bot, "SELECT resends FROM deliveries WHERE chat_id = 700582") == 1
    assert sum("lỗi mãi" in t for t in _texts(fake, 700582)) == 2
