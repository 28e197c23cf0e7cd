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
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram import TelegramObject
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
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


def _json_default(value: object) -> Any:
    """PTB objects in a parameter (a reply_markup) as the Bot API's JSON objects."""
    if isinstance(value, TelegramObject):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not a Bot API parameter")


def api_error(status: int, payload: bytes) -> TelegramError:
    """The error for a Bot API answer other than 2xx: the same classes and messages as
    PTB's BaseRequest.post (ChatMigrated, RetryAfter from `parameters`; 403 Forbidden,
    401/404 InvalidToken, 400 BadRequest, 409 Conflict, else NetworkError), so callers
    handle both paths alike."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    try:
        answer = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if parameters:
            if parameters.get("migrate_to_chat_id"):
                return ChatMigrated(parameters["migrate_to_chat_id"])
            if parameters.get("retry_after"):
                return RetryAfter(parameters["retry_after"])
            message += f". The server response contained unknown parameters: {parameters}"
    else:
        message += f". Parsing the server response {payload!r} failed"
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)


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
        unset = BaseRequest.DEFAULT_NONE
        self._default_timeout = self._timeout(unset, unset, unset, unset, files=False)
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
        return await self._send(method, url, data, headers, timeout)

    async def call(self, url: str, params: dict[str, Any]) -> Any:
        """POST one Bot API method as a JSON body; its `result`, or the TelegramError PTB
        would raise (api_error). The default timeouts.

        What bot.tg.raw uses instead of Bot.do_api_request: PTB's layers around the HTTP
        request (parameter objects, one json.dumps per parameter, defaults, RequestData,
        a warning per call) cost about as much CPU as the request itself (issue 17).
        `params` is encoded when called, so a rate limiter may change it before a retry
        (a migrated chat's new id)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        body = json.dumps(params, default=_json_default).encode()
        try:
            status, payload = await self._send("POST", url, body, _JSON, self._default_timeout)
        except TelegramError:
            raise
        except Exception as exc:  # as BaseRequest.post does
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc
        if not 200 <= status <= 299:
            raise api_error(status, payload)
        try:
            answer = json.loads(payload)
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        return answer["result"]

    async def _send(
        self, method: str, url: str, data: Any, headers: Any, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, bytes]:
        """One HTTP request on the session; (status, body). Errors as PTB's TimedOut and
        NetworkError (token masked)."""
        session = self._session
        assert session is not None
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


class PollingRequest(AiohttpRequest):
    """The getUpdates connection: updates arrive without the bot's own keyboards.

    A button press brings back the whole message the button sat on, its inline keyboard
    and formatting entities included, and PTB builds an object for every button and
    entity (parsing a card's press alone: 0.52 ms with them, 0.33 ms without, on the
    2-core machine; issue 17). That message is one the bot composed itself: no handler reads its
    keyboard or entities back (it answers from the callback data and edits by message
    id), so they are dropped before PTB parses the update. Nothing else is touched.
    """

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """PTB's parsing (BaseRequest's public hook), then the bot's own echoes dropped."""
        answer: dict[str, Any] = BaseRequest.parse_json_payload(payload)
        updates = answer.get("result") if isinstance(answer, dict) else None
        if isinstance(updates, list):
            for update in updates:
                if isinstance(update, dict):
                    _drop_echoes(update)
        return answer


_ECHOED = ("reply_markup", "entities")


def _drop_echoes(update: dict[str, Any]) -> None:
    """Remove the keyboard and entities of the bot's own message a button press carries."""
    query = update.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        for key in _ECHOED:
            message.pop(key, None)
