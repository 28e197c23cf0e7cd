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
                raise FetchError(f"Không tải địa chỉ nội bộ ({host} → {r['host']}).")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _check_url(url: str, allow_private: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError("Chỉ tải được địa chỉ http:// hoặc https://.")
    host = parts.hostname
    if not host:
        raise FetchError("Địa chỉ web không hợp lệ.")
    if not allow_private:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not _public(str(literal)):
            raise FetchError(f"Không tải địa chỉ nội bộ ({host}).")
        if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
            raise FetchError(f"Không tải địa chỉ nội bộ ({host}).")
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
        raise FetchError(f"Quá thời gian chờ ({limits.timeout:g} giây) khi tải {url}.") from None
    except aiohttp.ClientError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, FetchError):
            raise cause from None
        raise FetchError(f"Không tải được {url} ({type(exc).__name__}).") from None
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
        _check_url(url, limits.allow_private)
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status in _REDIRECTS:
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(f"Chuyển hướng không có địa chỉ đích ({url}).")
                url = urljoin(url, location)
                continue
            if resp.status == 304:
                return FetchResult(url, 304, b"", "", None, None, None)
            if resp.status != 200:
                raise FetchError(f"Máy chủ trả lời lỗi {resp.status} cho {url}.")
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


def _too_big(limit: int) -> str:
    return f"Trang quá lớn (hơn {limit // 1024} KB), không tải."
