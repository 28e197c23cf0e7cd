"""The aiohttp transport: PTB's errors for network trouble and Bot API answers (also on
the direct `call` path bot.tg.raw uses), and no token in their text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.tg.transport import AiohttpRequest

TOKEN = "123456:SECRET-in-the-url"

Responder = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_body(reader: asyncio.StreamReader) -> bytes:
    """The body of one HTTP request (after its headers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Responder], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(respond: Responder) -> str:
        server = await asyncio.start_server(respond, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/bot{TOKEN}/getMe"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_malformed_answer_is_a_network_error_without_the_token(serve) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}")
        await writer.drain()
        writer.close()

    url = await serve(garbage)
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as info:
            await request.do_request(url, "POST")
    finally:
        await request.shutdown()
    assert TOKEN not in str(info.value)
    assert not isinstance(info.value, TimedOut)


async def test_slow_answer_is_timed_out(serve) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.close()

    url = await serve(silent)
    request = AiohttpRequest(read_timeout=0.2, write_timeout=0.1)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST")
    finally:
        await request.shutdown()


async def test_parameters_reach_the_server_as_json(serve) -> None:
    seen: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_body(reader))
        body = b'{"ok":true,"result":true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    url = await serve(echo)
    request = AiohttpRequest()
    # PTB builds the RequestData (public API: Bot.do_api_request), the transport sends it.
    bot = Bot(TOKEN, base_url=url.rsplit("/bot", 1)[0] + "/bot", request=request)
    await request.initialize()
    try:
        result = await bot.do_api_request("echo", api_kwargs={"text": "Xin chào & tạm biệt"})
    finally:
        await request.shutdown()
    assert result is True
    assert [json.loads(body) for body in seen] == [{"text": "Xin chào & tạm biệt"}]


async def test_direct_call_answers_and_errors_as_ptb(serve) -> None:
    """AiohttpRequest.call (bot.tg.raw's path past PTB's request layers): the `result`, PTB
    objects encoded as JSON, and the same error classes BaseRequest.post raises."""
    answers = [
        (200, {"ok": True, "result": {"message_id": 7}}),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}),
        (
            400,
            {
                "ok": False,
                "description": "Bad Request: group upgraded",
                "parameters": {"migrate_to_chat_id": -100123},
            },
        ),
        (429, {"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 3}}),
        (400, {"ok": False, "description": "Bad Request: message text is empty"}),
        (401, {"ok": False, "description": "Unauthorized"}),
        (502, None),
        (200, None),
    ]
    seen: list[bytes] = []

    async def scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_body(reader))
        status, answer = answers[len(seen) - 1]
        body = b"<html>bad gateway</html>" if answer is None else json.dumps(answer).encode()
        writer.write(
            b"HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            % (status, len(body))
            + body
        )
        await writer.drain()
        writer.close()

    url = await serve(scripted)
    request = AiohttpRequest()
    await request.initialize()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Đã nhận", callback_data="ack:1")]])
    params = {"chat_id": 5, "text": "Chào", "reply_markup": markup}
    try:
        assert await request.call(url, params) == {"message_id": 7}
        with pytest.raises(Forbidden, match="bot was blocked"):
            await request.call(url, params)
        with pytest.raises(ChatMigrated) as migrated:
            await request.call(url, params)
        assert migrated.value.new_chat_id == -100123
        with pytest.raises(RetryAfter) as retry:
            await request.call(url, params)
        assert "3" in str(retry.value)
        with pytest.raises(BadRequest, match="text is empty"):
            await request.call(url, params)
        with pytest.raises(InvalidToken):
            await request.call(url, params)
        with pytest.raises(NetworkError, match="Bad Gateway") as gateway:
            await request.call(url, params)
        assert TOKEN not in str(gateway.value)
        with pytest.raises(TelegramError, match="Invalid server response"):
            await request.call(url, params)
    finally:
        await request.shutdown()
    assert json.loads(seen[0]) == {
        "chat_id": 5,
        "text": "Chào",
        "reply_markup": {"inline_keyboard": [[{"text": "✅ Đã nhận", "callback_data": "ack:1"}]]},
    }


def _answer(body: bytes) -> Responder:
    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_body(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    return respond


async def test_polling_drops_only_the_bots_own_keyboard_and_entities(serve) -> None:
    """A button press arrives without the keyboard and entities of the bot's own message
    (parsed by nobody); its text, data and ids stay, and other updates are untouched — a
    command keeps the entity CommandHandler needs."""
    from bot.tg.transport import PollingRequest

    chat = {"id": 5, "type": "private", "first_name": "Dân"}
    keyboard = {"inline_keyboard": [[{"text": "📄 Toàn văn", "callback_data": "ar:f:x"}]]}
    card = {
        "message_id": 9, "date": 1, "chat": chat, "text": "📰 Tin", "reply_markup": keyboard,
        "from": {"id": 1, "is_bot": True, "first_name": "Loa"},
        "entities": [{"type": "bold", "offset": 0, "length": 5}],
    }  # fmt: skip
    command = {
        "message_id": 10, "date": 1, "chat": chat, "text": "/bai x",
        "from": {"id": 5, "is_bot": False, "first_name": "Dân"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 4}],
        "reply_to_message": card,
    }  # fmt: skip
    press = {"id": "q", "from": command["from"], "chat_instance": "c", "data": "ar:f:x"}
    updates = [
        {"update_id": 1, "callback_query": {**press, "message": json.loads(json.dumps(card))}},
        {"update_id": 2, "message": command},
    ]
    body = json.dumps({"ok": True, "result": updates}).encode()
    url = await serve(_answer(body))
    request = PollingRequest(connection_pool_size=1)
    bot = Bot(TOKEN, base_url=url.rsplit("/bot", 1)[0] + "/bot", get_updates_request=request)
    await request.initialize()
    try:
        pressed, typed = await bot.get_updates(timeout=0)
    finally:
        await request.shutdown()
    query = pressed.callback_query
    assert query is not None and query.data == "ar:f:x" and query.message is not None
    assert query.message.message_id == 9 and query.message.text == "📰 Tin"  # type: ignore[union-attr]
    assert query.message.reply_markup is None and not query.message.entities  # type: ignore[union-attr]
    assert typed.message is not None and typed.message.text == "/bai x"
    assert [e.type for e in typed.message.entities] == ["bot_command"]
    replied = typed.message.reply_to_message
    assert replied is not None and replied.reply_markup is not None  # not a button press


def test_the_bot_loop_runs_coroutines_and_is_uvloop_where_installed() -> None:
    """bot.app.new_event_loop: uvloop when importable (a dependency on Linux), else asyncio."""
    import importlib.util

    from bot.app import new_event_loop

    async def roundtrip() -> int:
        await asyncio.sleep(0)
        return await asyncio.get_running_loop().run_in_executor(None, lambda: 7)

    loop = new_event_loop()
    try:
        assert loop.run_until_complete(roundtrip()) == 7
        expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
        assert type(loop).__module__.split(".")[0] == expected
    finally:
        loop.close()
