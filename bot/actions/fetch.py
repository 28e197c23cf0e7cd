"""The one bounded HTTP fetch of the newsroom (web pages and RSS/Atom feeds).

Bounds, each checked here and nowhere else:
- http and https only; at most MAX_REDIRECTS redirects, each hop checked like the first;
- every address the host resolves to must be public (no loopback, private, link-local,
  multicast or reserved address) unless LOA_FETCH_ALLOW_PRIVATE=1; the check runs in the
  connector's resolver, so it holds for every connection aiohttp opens (redirects and
  DNS answers that change between two look-ups included); literal IPs are checked per hop;
- LOA_FETCH_MAX_BYTES per response (read in chunks, stopped at the limit) and
  LOA_FETCH_TIMEOUT seconds in total;
- a clear User-Agent naming the bot;
- conditional GET (If-None-Match / If-Modified-Since) for feeds.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.domain.errors import InvalidInput

MAX_REDIRECTS = 5
MAX_URL_CHARS = 500  # real article and feed addresses are far shorter; kept in messages and rows
USER_AGENT = "LoaBot/1.0 (+Ban Tuyen giao; Telegram bot Loa; newsroom fetcher)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(InvalidInput):
    """A fetch refused or failed; the message is Vietnamese and names the reason."""


@dataclass(frozen=True)
class FetchResult:
    """One response: status 200 (body read) or 304 (not modified, empty body)."""

    url: str  # after redirects
    status: int
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses hosts with any non-public
    address (all of them are checked: one private answer is enough to refuse)."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for r in results:
            if not _public(r["host"]):
                raise FetchError(f"Không tải địa chỉ nội bộ ({html.escape(host)} → {r['host']}).")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str, allow_private: bool) -> str:
    """`url` when it may be fetched as far as can be told without resolving its host;
    FetchError (Vietnamese) otherwise. Every hop of every fetch goes through it."""
    if len(url) > MAX_URL_CHARS:
        raise FetchError(f"Địa chỉ web quá dài (tối đa {MAX_URL_CHARS} ký tự).")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is not a number raises ValueError here
    except ValueError:
        raise FetchError("Địa chỉ web không hợp lệ.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("Chỉ tải được địa chỉ http:// hoặc https://.")
    if not host:
        raise FetchError("Địa chỉ web không hợp lệ.")
    if not allow_private:
        name = host.lower().rstrip(".")  # "localhost." is localhost
        literal: str | None
        try:
            literal = str(ipaddress.ip_address(name))
        except ValueError:
            # The shorthand forms the C resolver also accepts: 2130706433, 0x7f.1, 127.1
            try:
                literal = socket.inet_ntoa(socket.inet_aton(name))
            except OSError:
                literal = None
        if (literal is not None and not _public(literal)) or (
            name == "localhost" or name.endswith(".localhost")
        ):
            raise FetchError(f"Không tải địa chỉ nội bộ ({html.escape(host)}).")
    return url


@dataclass(frozen=True)
class FetchLimits:
    """The bounds of one fetch (from Settings)."""

    max_bytes: int
    timeout: float
    allow_private: bool


async def fetch(
    url: str,
    limits: FetchLimits,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
    session: aiohttp.ClientSession | None = None,
) -> FetchResult:
    """GET `url` within the bounds; FetchError (Vietnamese) on any refusal or failure."""
    headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = session is None
    if session is None:
        session = new_session(limits)
    try:
        async with asyncio.timeout(limits.timeout):
            return await _follow(session, url, headers, limits)
    except TimeoutError:
        raise FetchError(
            f"Quá thời gian chờ ({limits.timeout:g} giây) khi tải {_shown(url)}."
        ) from None
    except aiohttp.ClientError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, FetchError):
            raise cause from None
        raise FetchError(f"Không tải được {_shown(url)} ({type(exc).__name__}).") from None
    finally:
        if own:
            await session.close()


def new_session(limits: FetchLimits) -> aiohttp.ClientSession:
    """A session whose connections honour the address rule (reuse it for many fetches)."""
    resolver: Any = None if limits.allow_private else _PublicOnlyResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, limit=16, ttl_dns_cache=60)
    return aiohttp.ClientSession(connector=connector, auto_decompress=True)


async def _follow(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], limits: FetchLimits
) -> FetchResult:
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(url, limits.allow_private)
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status in _REDIRECTS:
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(f"Chuyển hướng không có địa chỉ đích ({_shown(url)}).")
                url = urljoin(url, location)
                continue
            if resp.status == 304:
                return FetchResult(url, 304, b"", "", None, None, None)
            if resp.status != 200:
                raise FetchError(f"Máy chủ trả lời lỗi {resp.status} cho {_shown(url)}.")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise FetchError(_too_big(limits.max_bytes))
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise FetchError(_too_big(limits.max_bytes))
                chunks.append(chunk)
            return FetchResult(
                url=str(resp.url),
                status=200,
                body=b"".join(chunks),
                content_type=resp.content_type or "",
                charset=resp.charset,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
            )
    raise FetchError(f"Quá nhiều lần chuyển hướng (tối đa {MAX_REDIRECTS}).")


def _shown(url: str) -> str:
    """A URL inside a Vietnamese message (Telegram HTML: & and < escaped; at most 120
    characters, so a long address cannot push the message past Telegram's limits)."""
    return html.escape(url if len(url) <= 120 else url[:119] + "…")


def _too_big(limit: int) -> str:
    return f"Trang quá lớn (hơn {limit // 1024} KB), không tải."
