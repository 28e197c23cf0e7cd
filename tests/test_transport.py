"""The aiohttp transport: PTB's errors for network trouble, and no token in their text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.tg.transport import AiohttpRequest

TOKEN = "123456:SECRET-in-the-url"

Responder = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


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
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        seen.append(await reader.readexactly(length))
        body = b'{"ok":true,"result":true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    url = await serve(echo)
    request = AiohttpRequest()
    await request.initialize()
    try:
        data = RequestData([RequestParameter("text", "Xin chào & tạm biệt", None)])
        status, body = await request.do_request(url, "POST", data)
    finally:
        await request.shutdown()
    assert status == 200 and body == b'{"ok":true,"result":true}'
    assert [json.loads(body) for body in seen] == [{"text": "Xin chào & tạm biệt"}]
