"""Webhook mode: `loa run` with LOA_WEBHOOK_URL registers the hook and answers posted updates."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import aiohttp

from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN
from tests.subprocess_bot import loa_env, spawn_loa


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode(tmp_path: Path, fake: FakeTelegram) -> None:
    port = free_port()
    env = loa_env(
        tmp_path,
        fake,
        LOA_WEBHOOK_URL="https://loa.example.vn/hook/k3y",
        LOA_WEBHOOK_LISTEN="127.0.0.1",
        LOA_WEBHOOK_PORT=str(port),
        LOA_WEBHOOK_SECRET="s3cret-token",
    )
    log = tmp_path / "loa.log"
    proc = await spawn_loa(tmp_path, env, log)
    try:
        await fake.wait_for(lambda: fake.webhook_url == "https://loa.example.vn/hook/k3y", 20)
        user = fake.user(4242, "Mai")
        chat = fake.private_chat(user)
        update = fake.send_text(chat, user, "/start")
        url = f"http://127.0.0.1:{port}/hook/k3y"
        async with aiohttp.ClientSession() as http:
            for _ in range(50):  # the server may still be starting
                try:
                    async with http.post(url, json=update) as forged:
                        assert forged.status == 403  # no secret header: refused
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            # Over 1 MiB: refused before the body is read (issue 10).
            huge = b'{"update_id": 1, "x": "' + b"a" * (1 << 20) + b'"}'
            try:
                async with http.post(url, data=huge, headers=headers) as refused:
                    assert refused.status >= 400
            except aiohttp.ClientError:
                pass  # tornado may close the connection instead of answering
            async with http.post(url, json=update, headers=headers) as accepted:
                assert accepted.status == 200
        reply = await fake.wait_for_message(chat, "Xin chào Mai", timeout=10)
        assert len(fake.bot_messages(chat)) == 1, reply
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert TEST_TOKEN not in log.read_text(encoding="utf-8", errors="replace")
