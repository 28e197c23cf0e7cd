"""Operations: backup while writing, daily rotation, restore, health file, status, JSON logs."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cli import ops as cli_ops
from bot.logs import setup_logging
from bot.store import backup as store_backup
from bot.store import reports, staff
from bot.tg.transport import AiohttpRequest
from bot.workers import backups, health
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN, RunningBot, start_bot, stop_bot

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def rows_of(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return [tuple(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()


async def test_backup_while_the_bot_writes_is_consistent(bot: RunningBot, tmp_path: Path) -> None:
    db = bot.svc.db
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        # Each transaction writes a pair (audit entry + chat row) that must stay together.
        nonlocal written
        while not stop.is_set():
            async with db.transaction() as conn:
                written += 1
                await conn.execute(
                    "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                    " VALUES (?, 'private', 'x', 0, 0)",
                    (written,),
                )
                await staff.record_audit(
                    conn,
                    at=written,
                    actor_id=1,
                    actor_role="owner",
                    action="w",
                    target=written,
                )
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    copies = []
    try:
        for i in range(5):
            await asyncio.sleep(0.05)
            copies.append(await backups.run_backup(bot.svc, tmp_path / f"b{i}.db", "manual"))
    finally:
        stop.set()
        await task
    counts = []
    for copy in copies:
        assert rows_of(copy.path, "PRAGMA integrity_check") == [("ok",)]
        chats = rows_of(copy.path, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM chats")[0]
        audit = rows_of(copy.path, "SELECT COUNT(*), COALESCE(MAX(at), 0) FROM audit_log")[0]
        # Both halves of every transaction, no gaps: a transaction-consistent snapshot.
        assert chats == audit and chats[0] == chats[1]
        # A self-contained file: rollback journal, no -wal needed.
        assert rows_of(copy.path, "PRAGMA journal_mode") == [("delete",)]
        counts.append(chats[0])
    assert counts == sorted(counts) and counts[-1] > counts[0] > 0
    assert written > counts[-1] - 1
    last = await reports.last_backup(db)
    assert last is not None and last.path == str(copies[-1].path) and last.kind == "manual"
    n = await db.fetch_value("SELECT COUNT(*) FROM backups WHERE ok = 1")
    assert n == 5


async def test_backup_during_a_broadcast(
    bot: RunningBot, fake: FakeTelegram, tmp_path: Path
) -> None:
    """The outbox is written by the dispatcher while the copy is made."""
    if not await bot.svc.db.fetch_value("SELECT 1 FROM sqlite_master WHERE name = 'deliveries'"):
        pytest.skip("broadcasts feature (003) not installed")
    db = bot.svc.db
    async with db.transaction() as conn:
        for cid in range(1, 301):
            await conn.execute(
                "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                " VALUES (?, 'private', 'x', 0, 0)",
                (cid,),
            )
        await conn.execute(
            "INSERT INTO broadcasts (id, kind, state, body, parts, created_at, total)"
            " VALUES (1, 'announcement', 'sending', 'b', '[\"b\"]', 0, 300)"
        )
    stop = asyncio.Event()

    async def dispatcher() -> None:
        for cid in range(1, 301):
            if stop.is_set():
                return
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO deliveries (broadcast_id, chat_id, state, sent_at)"
                    " VALUES (1, ?, 'sent', ?)",
                    (cid, time.time()),
                )
            await asyncio.sleep(0)

    task = asyncio.create_task(dispatcher())
    await asyncio.sleep(0.02)
    copy = await backups.run_backup(bot.svc, tmp_path / "during.db", "manual")
    stop.set()
    await task
    assert rows_of(copy.path, "PRAGMA integrity_check") == [("ok",)]
    sent = rows_of(copy.path, "SELECT COUNT(*), MAX(chat_id) FROM deliveries")[0]
    assert sent[0] == (sent[1] or 0)  # a prefix of the dispatcher's work, nothing torn


def test_rotation_keeps_the_newest(tmp_path: Path) -> None:
    for day in range(1, 10):
        (tmp_path / f"loa-202201{day:02d}-030000.db").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("keep me")
    removed = store_backup.rotate_backups(tmp_path, 3)
    assert len(removed) == 6
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        "loa-20220107-030000.db",
        "loa-20220108-030000.db",
        "loa-20220109-030000.db",
        "notes.txt",
    ]


def test_next_backup_delay() -> None:
    now = datetime(2022, 4, 8, 10, 0, tzinfo=TZ).timestamp()
    assert backups.next_backup_delay(now, None, TZ, "03:00") == 60.0
    assert backups.next_backup_delay(now, now - 26 * 3600, TZ, "03:00") == 60.0
    # Last one this morning: next at 03:00 tomorrow, 17 hours away.
    assert backups.next_backup_delay(now, now - 7 * 3600, TZ, "03:00") == 17 * 3600
    assert backups.next_backup_delay(now, now - 3600, TZ, "23:30") == 13.5 * 3600


async def test_daily_backup_writes_and_rotates(bot_factory: Any, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    for day in range(1, 5):
        (folder / f"loa-200001{day:02d}-030000.db").write_bytes(b"old")
    bot = await bot_factory(backup_dir=str(folder), backup_keep=2)
    result = await backups.daily_backup(bot.svc)
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and result.path.name == names[-1]
    assert names[0] == "loa-20000104-030000.db"
    last = await reports.last_backup(bot.svc.db, kind="daily")
    assert last is not None and last.path == str(result.path)
    # The worker is running (its first backup is due a minute after start).
    worker = bot.svc.features["daily_backups"]
    assert worker._task is not None and not worker._task.done()


async def test_restore_then_start_everything_is_there(
    settings_factory: Any, fake: FakeTelegram, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_factory(health_interval=0.05)
    bot = await start_bot(settings)
    try:
        user = fake.user(4242, "Lan")
        fake.private_chat(user)
        owner = fake.user(ADMIN_ID, "Chủ")
        fake.send_text(fake.private_chat(owner), owner, "/grant 4242 editor")
        await fake.wait_for_message(ADMIN_ID, contains="Đã cấp vai trò")
        backup = tmp_path / "saved.db"
        await asyncio.to_thread(
            cli_ops.cmd_backup, argparse.Namespace(path=str(backup), force=False), settings
        )
        # After the backup: a change that the restore must undo.
        fake.send_text(fake.private_chat(owner), owner, "/revoke_role 4242")
        await fake.wait_for_message(ADMIN_ID, contains="Đã thu hồi")
        # Restoring over a running bot is refused.
        await health.HealthMonitor.tick(bot.svc.features["health"])
        code = await asyncio.to_thread(
            cli_ops.cmd_restore, argparse.Namespace(path=str(backup), force=False), settings
        )
        assert code == 1
    finally:
        await stop_bot(bot)
    assert "backup written to" in capsys.readouterr().out
    code = await asyncio.to_thread(
        cli_ops.cmd_restore, argparse.Namespace(path=str(backup), force=False), settings
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "restored" in out and "before-restore" in out
    assert any(p.name.startswith("loa.db.before-restore-") for p in os.scandir(tmp_path))

    bot = await start_bot(settings)
    try:
        assert await bot.svc.role_of(4242) is not None
        assert (await bot.svc.role_of(4242)).value == "editor"
        actions = [r[0] for r in await bot.svc.db.fetch_all("SELECT action FROM audit_log")]
        assert actions == ["role.grant"]
        fake.send_text(fake.private_chat(4242), 4242, "/admins")
        msg = await fake.wait_for_message(4242, contains="Biên tập viên (1)")
        assert "4242" in msg.content
    finally:
        await stop_bot(bot)


def test_restore_refuses_a_broken_file(settings_factory: Any, tmp_path: Path) -> None:
    settings = settings_factory()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert cli_ops.cmd_restore(argparse.Namespace(path=str(junk), force=False), settings) == 1
    assert (
        cli_ops.cmd_restore(argparse.Namespace(path=str(tmp_path / "no"), force=False), settings)
        == 1
    )


async def test_health_file_follows_polling_and_workers(
    bot_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await bot_factory(health_interval=0.05, health_stall=5, health_max_age=30)
    settings = bot.settings
    path = settings.health_path
    await asyncio.wait_for(_until(lambda: path.exists()), 5)
    state = json.loads(path.read_text())
    assert state["ok"] is True and state["polling"]["running"] is True
    assert state["database"] == "ok"
    assert cli_ops.cmd_health(argparse.Namespace(), settings) == 0
    assert "healthy" in capsys.readouterr().out

    monitor: health.HealthMonitor = bot.svc.features["health"]
    # A worker registered by another feature stops making progress.
    beats = bot.svc.features["heartbeats"]
    beats["dispatcher"] = lambda: time.time() - 60
    assert await monitor.tick() is False
    assert "dispatcher: no progress" in " ".join(json.loads(path.read_text())["problems"])
    assert cli_ops.cmd_health(argparse.Namespace(), settings) == 1
    beats["dispatcher"] = lambda: None  # idle is fine
    assert await monitor.tick() is True

    # getUpdates stops answering (the stamp stays old).
    poller: AiohttpRequest = bot.svc.features["polling_request"]
    # A long poll (timeout 1 s in the harness) must have come back by now.
    await asyncio.wait_for(_until(lambda: poller.last_success is not None), 5)
    assert time.time() - poller.last_success < 5
    poller.last_success = time.time() - 60
    assert await monitor.tick() is False
    await asyncio.wait_for(_until(lambda: json.loads(path.read_text())["ok"]), 5)

    # The updater dies.
    await bot.app.updater.stop()
    assert await monitor.tick() is False
    assert "updater is not running" in json.loads(path.read_text())["problems"]
    assert cli_ops.cmd_health(argparse.Namespace(), settings) == 1


async def test_health_sees_a_stuck_dispatcher(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await bot_factory(health_interval=600, health_stall=0.2)
    monitor: health.HealthMonitor = bot.svc.features["health"]
    assert await monitor.tick() is True
    # Hold the database lock: the first handler (chat tracking) blocks on it, so the
    # update stays in flight and no later update reaches the handlers.
    user = fake.user(77, "A")
    async with bot.svc.db._lock:
        fake.send_text(fake.private_chat(user), user, "/start")
        await asyncio.wait_for(
            _until(lambda: bot.app.update_processor.current_concurrent_updates > 0), 5
        )
        ok1, _ = await _check_no_db(monitor)  # sees the update arrive
        assert (await _check_no_db(monitor))[0]  # no progress noticed from here
        await asyncio.sleep(0.3)
        ok2, state = await _check_no_db(monitor)
        # The real database check times out while the lock is held.
    assert ok1 and not ok2
    assert any("while no update reached the handlers" in p for p in state["problems"])
    await fake.wait_for_message(77, contains="Xin chào")  # released: it goes on
    await asyncio.wait_for(
        _until(lambda: bot.app.update_processor.current_concurrent_updates == 0), 5
    )
    _, state = await monitor.check()
    assert not any("reached the handlers" in p for p in state["problems"])


async def _check_no_db(monitor: health.HealthMonitor) -> tuple[bool, dict[str, Any]]:
    """monitor.check() with a DB check that does not wait 10 s for the held lock."""
    original = monitor.svc.db.fetch_value

    async def quick(*a: Any, **k: Any) -> Any:
        return 1

    monitor.svc.db.fetch_value = quick  # type: ignore[method-assign]
    try:
        return await monitor.check()
    finally:
        monitor.svc.db.fetch_value = original  # type: ignore[method-assign]


def test_read_health_judgements(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    assert health.read_health(path, 90)[0] is False
    now = time.time()
    path.write_text(json.dumps({"ok": True, "healthy_at": now - 10, "pid": 1}))
    assert health.read_health(path, 90, now) == (True, "healthy (checked 10 s ago, pid 1)")
    assert health.read_health(path, 5, now)[0] is False  # stale: the bot hung or died
    path.write_text(json.dumps({"ok": False, "healthy_at": now, "problems": ["stopped"]}))
    assert health.read_health(path, 90, now) == (False, "unhealthy: stopped")
    path.write_text("{broken")
    assert health.read_health(path, 90, now)[0] is False


async def test_stopped_bot_is_unhealthy(bot_factory: Any) -> None:
    bot = await bot_factory(health_interval=0.05)
    path = bot.settings.health_path
    await asyncio.wait_for(_until(lambda: path.exists()), 5)
    await stop_bot(bot)
    assert health.read_health(path, 90) == (False, "unhealthy: stopped")


async def test_status_prints_counts_and_last_backup(
    bot: RunningBot, fake: FakeTelegram, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for uid in (11, 12):
        fake.send_text(fake.private_chat(fake.user(uid, "A")), uid, "/start")
        await fake.wait_for_message(uid, contains="Xin chào")
    await backups.run_backup(bot.svc, tmp_path / "s.db", "manual")
    await asyncio.to_thread(cli_ops.cmd_status, argparse.Namespace(), bot.settings)
    out = capsys.readouterr().out
    version = await bot.svc.db.schema_version()
    assert f"schema version {version}" in out
    assert "private 2" in out
    assert "last backup" in out and str(tmp_path / "s.db") in out
    assert "pending deliveries" in out and "pending comments" in out
    st = await reports.status(bot.svc.db)
    if await bot.svc.db.fetch_value("SELECT 1 FROM sqlite_master WHERE name = 'deliveries'"):
        assert st.pending_deliveries == 0
    if await bot.svc.db.fetch_value("SELECT 1 FROM sqlite_master WHERE name = 'comments'"):
        assert st.pending_comments == 0


def test_json_logs_redact_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [TEST_TOKEN], json_lines=True)
    try:
        log = logging.getLogger("loa.test")
        log.info(
            "calling https://x/bot%s/getMe", TEST_TOKEN, extra={"chat_id": -100, "broadcast_id": 7}
        )
        try:
            raise RuntimeError(f"boom {TEST_TOKEN}")
        except RuntimeError:
            log.exception("failed")
        log.debug("hidden")
    finally:
        logging.getLogger().handlers[:] = []
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == "calling https://x/bot***/getMe"
    assert first["chat_id"] == -100 and first["broadcast_id"] == 7 and first["level"] == "INFO"
    assert "boom ***" in second["exc"]
    assert TEST_TOKEN not in "".join(lines)


def test_plain_logs_still_redact(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    setup_logging("INFO", [TEST_TOKEN])
    try:
        handler = logging.getLogger().handlers[0]
        handler.setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("x").info("token %s", TEST_TOKEN)
    finally:
        logging.getLogger().handlers[:] = []
    assert "token ***" in stream.getvalue() and TEST_TOKEN not in stream.getvalue()


async def _until(pred: Any) -> None:
    while True:
        try:
            if pred():
                return
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.02)


def test_read_only_commands_never_create_a_database(
    settings_factory: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.cli import main

    missing = tmp_path / "typo" / "lao.db"
    settings = settings_factory(db_path=missing)
    commands = [
        (cli_ops.cmd_status, argparse.Namespace()),
        (cli_ops.cmd_audit, argparse.Namespace(since=None, limit=10)),
        (cli_ops.cmd_report, argparse.Namespace(quarter="2022-Q1", output=str(tmp_path / "r.md"))),
        (cli_ops.cmd_backup, argparse.Namespace(path=str(tmp_path / "b.db"), force=False)),
    ]
    for command, args in commands:
        assert command(args, settings) == 1, command.__name__
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "LOA_DB_PATH" in err and str(missing) in err
    assert not missing.exists() and not missing.parent.exists()
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "b.db").exists()
    # Through the real entry point too, as an operator would type it.
    monkeypatch.setenv("LOA_DB_PATH", str(missing))
    monkeypatch.setenv("LOA_BOT_TOKEN", TEST_TOKEN)
    assert main(["status"]) == 1
    assert "LOA_DB_PATH" in capsys.readouterr().err
    assert not missing.exists()


def test_read_only_commands_do_not_write(
    settings_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not a Loa database (no schema): reported in one line, left untouched.
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    assert cli_ops.cmd_status(argparse.Namespace(), settings_factory(db_path=other)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "LOA_DB_PATH" in err
    assert other.read_bytes() == before
    assert rows_of(other, "SELECT name FROM sqlite_master") == [("notes",)]
