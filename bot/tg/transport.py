"""The HTTP transport of the bot's Bot API calls: python-telegram-bot's BaseRequest on aiohttp.

PTB's default HTTPXRequest (httpx → httpcore → h11 on anyio) costs 1.1-2 ms of CPU per
request on the 2-core deployment machine and tops out near 500 requests/s; aiohttp
(C HTTP parser, one write per request, a dict-keyed connection pool) does the same call
in 0.3-0.5 ms, see BENCHMARKS.md "Feedback". Under a burst the httpx pool also grows to
`connection_pool_size` connections and then scans every one of them (a poll() per idle
connection) twice per request. The behaviour PTB relies on is kept: every parameter PTB
encodes (sent as a JSON body, which the Bot API accepts like a form), multipart uploads,
TimedOut / NetworkError on failures, the same timeouts.

Two instances serve the Application: one for every Bot API call, one (a single
connection) for getUpdates; `last_success` stamps the latter's completed answers so the
health check (bot.workers.health.HealthMonitor) sees a stalled poll.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TOKEN_IN_URL = re.compile(r"/bot[^/\s'\"]+/")
_JSON = {"Content-Type": "application/json"}


def _proxy_bypass_fallback(host: str, proxies: Mapping[str, str] | None = None) -> bool:
    """Stand-in with the same contract: the public check (reads NO_PROXY from the environment)."""
    return bool(urllib.request.proxy_bypass(host))


# NO_PROXY matching against a given proxies mapping: present in CPython's urllib.request
# but undocumented, so typeshed does not declare it.
_proxy_bypass_environment: Callable[[str, Mapping[str, str] | None], Any] = getattr(
    urllib.request, "proxy_bypass_environment", _proxy_bypass_fallback
)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """certifi's CA bundle when present (what httpx used), else the system store.

    One context for every session of the process: loading the CA bundle costs ~0.7 MB
    of memory per context (issue 17: idle memory), and a context is safe to share."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx, a PTB dependency
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpRequest(BaseRequest):
    """BaseRequest over one aiohttp ClientSession (created in initialize())."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str] = {}
        self._proxy_for: dict[tuple[str, str], str | None] = {}
        self.last_success: float | None = None  # time.time() of the last 200 answer

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to getUpdates' long-poll timeout)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ssl=_ssl_context())
            # HTTP(S)_PROXY / NO_PROXY are honoured as httpx did, but read once here:
            # aiohttp's trust_env=True re-reads them and ~/.netrc in a thread per request.
            self._proxies = urllib.request.getproxies_environment()
            self._proxy_for = {}
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections (idempotent)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _proxy(self, url: str) -> str | None:
        if not self._proxies:
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxy_for:
            bypass = _proxy_bypass_environment(key[1], self._proxies)
            self._proxy_for[key] = None if bypass else self._proxies.get(key[0])
        return self._proxy_for[key]

    def _timeout(
        self, read: Any, write: Any, connect: Any, pool: Any, *, files: bool
    ) -> aiohttp.ClientTimeout:
        # PTB passes its public BaseRequest.DEFAULT_NONE for "not given" (no private
        # telegram._utils import: those modules change between minor releases).
        unset = BaseRequest.DEFAULT_NONE
        if read is unset:
            read = self._read_timeout
        if connect is unset:
            connect = self._connect_timeout
        if pool is unset:
            pool = self._pool_timeout
        if write is unset:
            write = self._media_write_timeout if files else self._write_timeout
        # aiohttp has no write timeout of its own: a request must be written and its
        # answer read within write + read; `connect` covers waiting for a pooled
        # connection as well as opening one.
        total = None if read is None or write is None else read + write
        wait = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=wait, sock_connect=connect)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; (status, body)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        params = request_data.json_parameters if request_data else {}
        headers = None
        data: Any
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in params.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        else:
            # A JSON body (what PTB's RequestData.json_payload gives; the Bot API takes JSON
            # as well as forms): urlencode() percent-encodes Vietnamese text byte by byte in
            # Python, 0.3-0.7 ms for a 4 KB message, json.dumps 0.05 ms (issue 17). Encoded
            # from `params` here: json_payload would build json_parameters a second time.
            data = json.dumps(params).encode() if params else None
            headers = _JSON if params else None
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, files=bool(files)
        )
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as response:
                body = await response.read()
        except TimeoutError as err:  # aiohttp's ServerTimeoutError is one too
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # Some aiohttp errors quote the URL, and the Bot API URL holds the token;
            # these messages end up in logs and in deliveries.last_error.
            detail = _TOKEN_IN_URL.sub("/bot***/", str(err))
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {detail}") from err
        if response.status == 200:
            self.last_success = time.time()
        return response.status, body
