"""Fake Telegram Bot API server (aiohttp) for end-to-end tests and benchmarks."""

# In-process: base_url = await FakeTelegram().start(), then telegram.Bot(token, base_url=...).
# Out-of-process: python -m tests.fakegram --port 8081 [--token T] [--limits]; another
# process then drives it through the /_fake/... HTTP control API.

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import json
import math
import mimetypes
import re
import signal
import struct
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456:TEST-token"
DEFAULT_BOT_USERNAME = "loa_test_bot"

MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
MIGRATED = "group chat was upgraded to a supergroup chat"

# Methods that count as sends for the rate limiter and stats.sends.
LIMITED_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendPoll",
        "stopPoll",
    }
)

# sendPoll (Bot API): question 1-300 characters, 2-12 options of 1-100 characters.
MAX_POLL_QUESTION = 300
MAX_POLL_OPTION = 100
MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 2, 12

# Update kinds Telegram leaves out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})
_ACTIVE_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL_RE = re.compile(r"^(?:https?|tg)://\S+$", re.IGNORECASE)
_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# Parameter decoding: PTB sends every value as a string, JSON-encoding structured ones.
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "commands",
        "scope",
        "results",
        "allowed_updates",
        "reply_parameters",
        "media",
        "button",
        "permissions",
        "menu_button",
        "options",
        "message_ids",
        "rights",
        "input_message_content",
    }
)
_INT_KEYS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "until_date",
        "max_connections",
        "sender_chat_id",
        "icon_color",
    }
)
_FLOAT_KEYS = frozenset({"timeout"})
_TEXT_KEYS = frozenset(
    {
        "text",
        "question",
        "caption",
        "query",
        "data",
        "description",
        "short_description",
        "name",
        "title",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "parse_mode",
        "action",
        "language_code",
        "file_id",
        "next_offset",
        "custom_title",
        "emoji",
        "document",
        "photo",
        "thumbnail",
        "business_connection_id",
        "message_effect_id",
    }
)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        """Return the JSON body Telegram sends for this error."""
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


def _forbidden(description: str) -> ApiError:
    return ApiError(403, "Forbidden: " + description)


# --------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """A scripted answer served instead of (or, for delays, before) the normal one."""

    kind: str
    code: int = 200
    description: str = ""
    parameters: dict | None = None
    seconds: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        """429 flood wait; PTB raises RetryAfter."""
        return cls(
            "retry_after",
            429,
            f"Too Many Requests: retry after {seconds}",
            {"retry_after": seconds},
        )

    @classmethod
    def forbidden(cls, description: str = "bot was blocked by the user") -> Fault:
        """403; PTB raises Forbidden."""
        return cls("forbidden", 403, "Forbidden: " + description)

    @classmethod
    def bad_request(cls, description: str = "chat not found") -> Fault:
        """400; PTB raises BadRequest."""
        return cls("bad_request", 400, "Bad Request: " + description)

    @classmethod
    def migrate(cls, new_chat_id: int) -> Fault:
        """400 with migrate_to_chat_id; PTB raises ChatMigrated."""
        return cls(
            "migrate",
            400,
            "Bad Request: " + MIGRATED,
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def server_error(cls, code: int = 502, description: str | None = None) -> Fault:
        """5xx; PTB raises NetworkError."""
        return cls("server_error", code, description or HTTPStatus(code).phrase)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Answer normally after sleeping; PTB raises TimedOut if its read timeout is shorter."""
        return cls("delay", seconds=seconds)

    @classmethod
    def error(cls, code: int, description: str, parameters: dict | None = None) -> Fault:
        """Any other error answer."""
        return cls("error", code, description, parameters)

    def to_error(self) -> ApiError:
        """Return the ApiError this fault answers with."""
        return ApiError(self.code, self.description, self.parameters)


@dataclass
class _FaultRule:
    fault: Fault
    method: str | None  # lower-cased
    chat_id: int | str | None
    remaining: int | None  # None: forever


# --------------------------------------------------------------------------- limits


@dataclass
class Limits:
    """Telegram-like send limits, enforced as strict sliding windows."""

    enabled: bool = False
    global_per_second: int = 30
    chat_per_second: int = 1
    group_per_minute: int = 20
    global_window: float = 1.0
    chat_window: float = 1.0
    group_window: float = 60.0


@dataclass
class Stats:
    """Counters the benchmarks and tests read."""

    requests: int = 0
    sends: int = 0
    sends_by_method: dict[str, int] = field(default_factory=dict)
    violations: int = 0
    violations_by_kind: dict[str, int] = field(default_factory=dict)
    faults_served: int = 0

    def to_json(self) -> dict:
        """Return a JSON-able dict."""
        return {
            "requests": self.requests,
            "sends": self.sends,
            "sends_by_method": dict(self.sends_by_method),
            "violations": self.violations,
            "violations_by_kind": dict(self.violations_by_kind),
            "faults_served": self.faults_served,
        }


class _Limiter:
    """Strict sliding windows over accepted sends (global, per chat, per group)."""

    def __init__(self) -> None:
        self.global_q: deque[float] = deque()
        self.chat_q: dict[int, deque[float]] = {}
        self.group_q: dict[int, deque[float]] = {}

    @staticmethod
    def _wait(q: deque[float] | None, n: int, window: float, now: float) -> float | None:
        if q is None:
            return None if n > 0 else window
        cutoff = now - window
        while q and q[0] <= cutoff:
            q.popleft()
        if len(q) < n:
            return None
        if n <= 0:
            return window
        # The send fits once the n-th most recent send leaves the window.
        return q[-n] + window - now

    def check(
        self, limits: Limits, chat_id: int | None, now: float
    ) -> tuple[int, list[str]] | None:
        waits: dict[str, float] = {}
        w = self._wait(self.global_q, limits.global_per_second, limits.global_window, now)
        if w is not None:
            waits["global"] = w
        if chat_id is not None:
            w = self._wait(
                self.chat_q.get(chat_id), limits.chat_per_second, limits.chat_window, now
            )
            if w is not None:
                waits["chat"] = w
            if chat_id < 0:
                w = self._wait(
                    self.group_q.get(chat_id), limits.group_per_minute, limits.group_window, now
                )
                if w is not None:
                    waits["group"] = w
        if not waits:
            return None
        return max(1, math.ceil(max(waits.values()) - 1e-9)), list(waits)

    def record(self, chat_id: int | None, now: float) -> None:
        self.global_q.append(now)
        if chat_id is not None:
            q = self.chat_q.get(chat_id)
            if q is None:
                q = self.chat_q[chat_id] = deque()
            q.append(now)
            if chat_id < 0:
                q = self.group_q.get(chat_id)
                if q is None:
                    q = self.group_q[chat_id] = deque()
                q.append(now)


# --------------------------------------------------------------------------- model


@dataclass(eq=False)
class FakeUser:
    """A Telegram user known to the fake."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    deactivated: bool = False

    def to_api(self) -> dict:
        """Return the Bot API User object."""
        out: dict[str, Any] = {
            "id": self.id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
        }
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code:
            out["language_code"] = self.language_code
        return out


@dataclass(eq=False)
class FakeChat:
    """A chat known to the fake, with its members and stored messages."""

    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    username: str | None = None
    user: FakeUser | None = None  # the other party of a private chat
    bot_status: str = "member"  # for private chats "kicked" means blocked
    bot_removed: bool = False
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    migrated_to: int | None = None
    next_message_id: int = 1
    pinned_message_id: int | None = None
    # Forum supergroups (topics): is_forum, and the topics by message_thread_id.
    is_forum: bool = False
    topics: dict[int, ForumTopic] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        """Whether this is a group or supergroup."""
        return self.type in ("group", "supergroup")

    def take_message_id(self) -> int:
        """Allocate the next message id of this chat."""
        mid = self.next_message_id
        self.next_message_id = mid + 1
        return mid

    def to_api(self) -> dict:
        """Return the Bot API Chat object."""
        if self.type == "private" and self.user is not None:
            out = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                out["last_name"] = self.user.last_name
            if self.user.username:
                out["username"] = self.user.username
            return out
        out = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            out["username"] = self.username
        if self.is_forum:
            out["is_forum"] = True  # Telegram sends the field only when true
        return out


@dataclass(eq=False)
class ForumTopic:
    """A topic of a forum supergroup; its id is the id of its creation service message."""

    message_thread_id: int
    name: str
    icon_color: int = 7322096
    closed: bool = False
    deleted: bool = False

    def to_api(self) -> dict:
        """Return the Bot API ForumTopic object."""
        return {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }


@dataclass(eq=False)
class UploadedFile:
    """A file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def to_json(self) -> dict:
        """Return a JSON-able summary."""
        return {
            "file_name": self.filename,
            "mime_type": self.content_type,
            "size": len(self.data),
        }


@dataclass(eq=False)
class StoredFile:
    """A file the bot or a user sent, with its bytes."""

    file_id: str
    file_unique_id: str
    kind: str  # document, photo, sticker
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str = ""
    width: int = 0
    height: int = 0
    url: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def to_api(self) -> dict:
        """Return a Document or PhotoSize object."""
        out: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.kind == "document":
            if self.file_name:
                out["file_name"] = self.file_name
            if self.mime_type:
                out["mime_type"] = self.mime_type
        else:
            out["width"] = self.width
            out["height"] = self.height
        return out

    def photo_sizes(self) -> list[dict]:
        """Return the PhotoSize list Telegram sends for a photo (thumbnail first)."""
        scale = min(1.0, 90 / max(self.width, self.height, 1))
        thumb = {
            "file_id": self.file_id + "-s",
            "file_unique_id": self.file_unique_id + "s",
            "width": max(1, round(self.width * scale)),
            "height": max(1, round(self.height * scale)),
            "file_size": min(len(self.data), 1024),
        }
        return [thumb, self.to_api()]

    def to_json(self) -> dict:
        """Return a JSON-able dict including base64 data."""
        out = self.to_api()
        out["kind"] = self.kind
        out["data_b64"] = base64.b64encode(self.data).decode()
        return out


@dataclass
class Edit:
    """A previous version of an edited message."""

    text: str | None
    raw_text: str | None
    caption: str | None
    reply_markup: dict | None
    edit_date: int | None


@dataclass(eq=False)
class StoredMessage:
    """A message in a chat, sent by the bot or injected as sent by a user."""

    chat: FakeChat
    message_id: int
    date: int
    from_bot: bool
    sender: dict | None  # Bot API User
    text: str | None = None  # plain text, as a user sees it
    raw_text: str | None = None  # as sent, markup included
    parse_mode: str | None = None
    entities: list = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list = field(default_factory=list)
    reply_markup: dict | None = None
    reply_to: StoredMessage | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    extra: dict = field(default_factory=dict)  # other Message fields (sticker, service)
    thread_id: int | None = None  # message_thread_id: the forum topic it was sent in
    deleted: bool = False
    pinned: bool = False
    edit_date: int | None = None
    edits: list[Edit] = field(default_factory=list)  # previous versions, oldest first

    @property
    def chat_id(self) -> int:
        """The chat id."""
        return self.chat.id

    @property
    def content(self) -> str:
        """Plain text or caption, '' if none."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        """Rows of inline buttons, [] if none."""
        if self.reply_markup and isinstance(self.reply_markup.get("inline_keyboard"), list):
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[dict]:
        """All inline buttons, flattened."""
        return [b for row in self.inline_keyboard for b in row]

    def to_api(self, nested: bool = True) -> dict:
        """Return the Bot API Message object."""
        out: dict[str, Any] = {"message_id": self.message_id}
        if self.sender is not None:
            out["from"] = self.sender
        out["chat"] = self.chat.to_api()
        out["date"] = self.date
        if self.edit_date is not None:
            out["edit_date"] = self.edit_date
        if nested and self.reply_to is not None:
            out["reply_to_message"] = self.reply_to.to_api(nested=False)
        if self.text is not None:
            out["text"] = self.text
            if self.entities:
                out["entities"] = self.entities
        if self.document is not None:
            out["document"] = self.document.to_api()
        if self.photo is not None:
            out["photo"] = self.photo.photo_sizes()
        if self.caption is not None:
            out["caption"] = self.caption
            if self.caption_entities:
                out["caption_entities"] = self.caption_entities
        if self.inline_keyboard:
            # Telegram echoes only inline keyboards on messages.
            out["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        if self.thread_id is not None:
            out["message_thread_id"] = self.thread_id
            if self.chat.is_forum:
                out["is_topic_message"] = True
        if self.extra:
            out.update(self.extra)
        return out

    def to_json(self) -> dict:
        """Return the control-API form (adds fake-only fields)."""
        return {
            "chat_id": self.chat.id,
            "message_id": self.message_id,
            "date": self.date,
            "from_bot": self.from_bot,
            "from_id": (self.sender or {}).get("id"),
            "text": self.text,
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "caption": self.caption,
            "raw_caption": self.raw_caption,
            "reply_markup": self.reply_markup,
            "reply_to": self.reply_to.message_id if self.reply_to else None,
            "document": self.document.to_json() if self.document else None,
            "photo": self.photo.to_json() if self.photo else None,
            "extra": self.extra,
            "deleted": self.deleted,
            "pinned": self.pinned,
            "edit_date": self.edit_date,
            "edits": [e.__dict__ for e in self.edits],
            "thread_id": self.thread_id,
        }


@dataclass
class Call:
    """One request the bot made."""

    seq: int
    method: str
    params: dict
    at: float  # FakeTelegram.clock() at receive time
    status: int
    response: dict

    @property
    def ok(self) -> bool:
        """Whether the answer was a success."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """The result of a successful call."""
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        """The error description of a failed call."""
        return self.response.get("description")

    def to_json(self) -> dict:
        """Return a JSON-able dict."""
        return {
            "seq": self.seq,
            "method": self.method,
            "params": self.params,
            "at": self.at,
            "status": self.status,
            "response": self.response,
        }

    def short(self) -> str:
        """One line for failure dumps."""
        params = {k: v for k, v in self.params.items() if k != "reply_markup"}
        text = json.dumps(params, ensure_ascii=False, default=_json_default)
        if len(text) > 160:
            text = text[:157] + "..."
        tail = "ok" if self.ok else f"{self.status} {self.description}"
        return f"#{self.seq} {self.method} {text} -> {tail}"


def _json_default(obj: Any) -> Any:
    to_json = getattr(obj, "to_json", None)
    if to_json is not None:
        return to_json()
    if isinstance(obj, bytes):
        return {"size": len(obj)}
    return repr(obj)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, default=_json_default).encode()


# --------------------------------------------------------------------------- text


def _u16len(s: str) -> int:
    """Length in UTF-16 code units (Telegram's entity unit)."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le")) // 2


class HtmlParseError(ValueError):
    """Raised for text Telegram's HTML parser rejects."""


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ATTR_CHARS = _TAG_CHARS | {"_"}
_SPACE = " \t\r\n"
_HTML_SPECIAL = re.compile("[<&]")


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in output
    attrs: dict
    language: str | None = None


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode())


def _html_entity(text: str, i: int) -> tuple[str, int]:
    semi = text.find(";", i + 1, i + 12)
    if semi == -1:
        raise HtmlParseError(
            f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(text, i)}'
        )
    body = text[i + 1 : semi]
    named = _NAMED_ENTITIES.get(body)
    if named is not None:
        return named, semi + 1
    if body.startswith("#"):
        digits = body[1:]
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
        except ValueError:
            code = -1
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), semi + 1
    raise HtmlParseError(
        f'Unsupported HTML entity "&{body};" at byte offset {_byte_offset(text, i)}'
    )


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram's HTML subset strictly; return (plain text, entities in UTF-16 units)."""
    if "<" not in text and "&" not in text:
        return text, []
    out: list[str] = []
    u16 = 0
    stack: list[_Open] = []
    entities: list[dict] = []
    n = len(text)
    i = 0
    while i < n:
        # Plain runs up to the next "<" or "&" are copied in one slice.
        m = _HTML_SPECIAL.search(text, i)
        j = m.start() if m else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            u16 += _u16len(chunk)
            i = j
            continue
        if text[i] == "&":
            ch, i = _html_entity(text, i)
            out.append(ch)
            u16 += _u16len(ch)
            continue
        # A tag.
        if i + 1 < n and text[i + 1] == "/":
            k = i + 2
            while k < n and text[k] in _TAG_CHARS:
                k += 1
            name = text[i + 2 : k].lower()
            while k < n and text[k] in _SPACE:
                k += 1
            if k >= n or text[k] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {_byte_offset(text, i)}")
            if not stack:
                raise HtmlParseError(
                    f'Unexpected end tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            top = stack.pop()
            if top.tag != name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{top.tag}>", found "</{name}>"'
                )
            _close_tag(top, u16, stack, entities)
            i = k + 1
            continue
        k = i + 1
        while k < n and text[k] in _TAG_CHARS:
            k += 1
        name = text[i + 1 : k].lower()
        if name not in _HTML_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while k < n and text[k] in _SPACE:
                k += 1
            if k >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
            if text[k] == ">":
                break
            a = k
            while k < n and text[k] in _ATTR_CHARS:
                k += 1
            attr = text[a:k].lower()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{_byte_offset(text, k)}"
                )
            while k < n and text[k] in _SPACE:
                k += 1
            value = ""
            if k < n and text[k] == "=":
                k += 1
                while k < n and text[k] in _SPACE:
                    k += 1
                if k < n and text[k] in "\"'":
                    end = text.find(text[k], k + 1)
                    if end == -1:
                        raise HtmlParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, i)}"
                        )
                    raw = text[k + 1 : end]
                    k = end + 1
                else:
                    a = k
                    while k < n and text[k] not in _SPACE and text[k] != ">":
                        k += 1
                    raw = text[a:k]
                value = _decode_attr(raw)
            attrs[attr] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, i)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset '
                f"{_byte_offset(text, i)}"
            )
        stack.append(_Open(name, u16, attrs))
        i = k + 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _decode_attr(raw: str) -> str:
    if "&" not in raw:
        return raw
    parts: list[str] = []
    i = 0
    while True:
        j = raw.find("&", i)
        if j == -1:
            parts.append(raw[i:])
            return "".join(parts)
        parts.append(raw[i:j])
        ch, i = _html_entity(raw, j)
        parts.append(ch)


def _close_tag(top: _Open, u16: int, stack: list[_Open], entities: list[dict]) -> None:
    if top.tag == "code" and stack and stack[-1].tag == "pre":
        # <pre><code class="language-x"> is one pre entity with a language.
        cls = top.attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1].language = cls[len("language-") :]
        return
    length = u16 - top.start
    if length <= 0:
        return
    kind = _HTML_TAGS[top.tag]
    ent: dict[str, Any] = {"type": kind, "offset": top.start, "length": length}
    if top.tag == "a":
        href = top.attrs.get("href")
        if not href:
            return
        ent["url"] = href
    elif top.tag == "pre" and top.language:
        ent["language"] = top.language
    elif top.tag == "tg-emoji":
        ent["custom_emoji_id"] = top.attrs["emoji-id"]
    elif top.tag == "blockquote" and "expandable" in top.attrs:
        ent["type"] = "expandable_blockquote"
    entities.append(ent)


def strip_markdown(text: str, v2: bool = True) -> str:
    """Best-effort plain text of Markdown/MarkdownV2 (no validation)."""
    specials = "*_~|`" if v2 else "*_`"
    out: list[str] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and v2:
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if v2 and c == ">" and line_start:
            i += 1
            continue
        line_start = c == "\n"
        if c in specials or c == "[":
            i += 1
            continue
        if c == "]" and i + 1 < n and text[i + 1] == "(":
            end = text.find(")", i + 2)
            i = n if end == -1 else end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _trim(plain: str, entities: list[dict]) -> tuple[str, list[dict]]:
    stripped = plain.strip()
    if len(stripped) == len(plain):
        return plain, entities
    shift = _u16len(plain[: len(plain) - len(plain.lstrip())])
    total = _u16len(stripped)
    fixed = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, total)
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return stripped, fixed


_AUTO_ENTITY_RE = re.compile(
    r"(?<![\w/@])(?:"
    r"(?P<cmd>/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?=\s|$)"
    r"|(?P<mention>@[A-Za-z0-9_]{5,32})(?!\w)"
    r"|(?P<url>https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'])"
    r")"
)


def detect_entities(text: str) -> list[dict]:
    """Entities Telegram's client-side parser would attach (bot_command, mention, url)."""
    if "/" not in text and "@" not in text:
        return []
    ents = []
    for m in _AUTO_ENTITY_RE.finditer(text):
        kind = "bot_command" if m.group("cmd") else "mention" if m.group("mention") else "url"
        ents.append(
            {
                "type": kind,
                "offset": _u16len(text[: m.start()]),
                "length": _u16len(m.group(0)),
            }
        )
    return ents


def _check_markup(markup: Any) -> dict | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            if not isinstance(row, list):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            for b in row:
                _check_button(b)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


def _has_web_app(markup: dict | None) -> bool:
    rows = (markup or {}).get("inline_keyboard") or []
    return any(isinstance(b, dict) and "web_app" in b for row in rows for b in row)


def _check_button(b: Any) -> None:
    if not isinstance(b, dict):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = b.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad("can't parse inline keyboard button: Text must be non-empty")
    actions = [k for k in _BUTTON_ACTIONS if k in b]
    if not actions:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise _bad(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if "callback_data" in b:
        data = b["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in b:
        url = b["url"]
        if not isinstance(url, str) or not _BUTTON_URL_RE.match(url):
            raise _bad("BUTTON_URL_INVALID")
    if "web_app" in b:
        _check_web_app(b["web_app"])


def _check_web_app(info: Any) -> None:
    """WebAppInfo: Telegram opens Mini Apps over HTTPS only."""
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not url.lower().startswith("https://"):
        raise _bad("BUTTON_URL_INVALID")


def _member_api(user: dict, status: str, until_date: int = 0) -> dict:
    """Build a ChatMember object PTB can parse for the given status."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": True,
            "can_edit_stories": True,
            "can_delete_stories": True,
            "can_pin_messages": True,
            "can_manage_topics": False,
        }
    if status == "restricted":
        rights = {
            k: False
            for k in (
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
                "can_send_messages",
                "can_send_polls",
                "can_send_other_messages",
                "can_add_web_page_previews",
                "can_manage_topics",
                "can_send_audios",
                "can_send_documents",
                "can_send_photos",
                "can_send_videos",
                "can_send_video_notes",
                "can_send_voice_notes",
                "can_edit_tag",
            )
        }
        return {
            "status": "restricted",
            "user": user,
            "is_member": True,
            "until_date": until_date,
            **rights,
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": until_date}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise ValueError(f"unknown chat member status {status!r}")


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _to_int(key: str, value: str) -> int | str:
    if key == "chat_id" and value.startswith("@"):
        return value
    try:
        return int(value)
    except ValueError:
        if key in ("chat_id", "from_chat_id"):
            raise _bad("chat not found") from None
        raise _bad(f"invalid {key} specified") from None


def _normalise(raw: Mapping[str, Any]) -> dict:
    """Turn PTB's stringly-typed (or JSON) parameters into Python values."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_KEYS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise _bad(f"can't parse {key} JSON object") from None
            elif key in _INT_KEYS:
                value = _to_int(key, value)
            elif key in _FLOAT_KEYS:
                try:
                    value = float(value)
                except ValueError:
                    raise _bad(f"invalid {key} specified") from None
            elif key in _TEXT_KEYS:
                pass
            elif value == "true" or value == "false":
                value = value == "true"
            elif value[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
        out[key] = value
    return out


# --------------------------------------------------------------------------- server


_MethodEntry = tuple[str, Callable[[dict], Any], bool]


class FakeTelegram:
    """A fake Bot API server with a test-facing API for injecting updates and inspecting calls."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = "Loa",
        *,
        clock: Callable[[], float] = time.monotonic,
        record_calls: bool = True,
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_id = int(bot_id) if bot_id.isdigit() else 123456
        self.bot = FakeUser(self.bot_id, bot_name, username=bot_username, is_bot=True)
        self._bot_api = self.bot.to_api()
        self.clock = clock
        self.record_calls = record_calls
        self.limits = Limits()
        self.stats = Stats()
        self.calls: list[Call] = []
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, dict] = {}
        self.callback_answers: dict[str, dict] = {}
        self.inline_queries: dict[str, dict] = {}
        self.inline_answers: dict[str, dict] = {}
        self.inline_edits: list[dict] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        # setChatMenuButton: chat id (None = the default for every private chat) → button.
        self.menu_buttons: dict[int | None, dict] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.webhook_url = ""
        self.injected: list[dict] = []
        self._pending: deque[dict] = deque()
        self._allowed_updates: frozenset[str] | None = None
        self._next_update_id = 1
        self._next_file = 1
        self._next_query = 1
        self._poll_gen = 0
        # Native polls sent by the bot: poll id -> {"poll": Poll JSON, "chat_id",
        # "message_id", "votes": {user id: [option ids]}}.
        self.polls: dict[str, dict] = {}
        self._next_poll = 1
        self._faults: list[_FaultRule] = []
        self._limiter = _Limiter()
        self._waiters: list[asyncio.Future] = []
        self._poll_event: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._methods: dict[str, _MethodEntry] = {}
        # Issue 10 (safety): what a hostile-input run must never produce. Every 400 the
        # fake answered (method, description) and every text or caption a bot sent that
        # is not in Unicode NFC (method, text); tests assert both stay empty.
        self.bad_requests: list[tuple[str, str]] = []
        self.non_nfc_texts: list[tuple[str, str]] = []
        for name, func, is_async in (
            ("getMe", self._m_get_me, False),
            ("logOut", self._m_true, False),
            ("close", self._m_true, False),
            ("getUpdates", self._m_get_updates, True),
            ("setWebhook", self._m_set_webhook, False),
            ("deleteWebhook", self._m_delete_webhook, False),
            ("getWebhookInfo", self._m_get_webhook_info, False),
            ("sendMessage", self._m_send_message, False),
            ("editMessageText", self._m_edit_message_text, False),
            ("editMessageReplyMarkup", self._m_edit_message_reply_markup, False),
            ("editMessageCaption", self._m_edit_message_caption, False),
            ("deleteMessage", self._m_delete_message, False),
            ("answerCallbackQuery", self._m_answer_callback_query, False),
            ("answerInlineQuery", self._m_answer_inline_query, False),
            ("setMyCommands", self._m_set_my_commands, False),
            ("getMyCommands", self._m_get_my_commands, False),
            ("setChatMenuButton", self._m_set_chat_menu_button, False),
            ("getChatMenuButton", self._m_get_chat_menu_button, False),
            ("deleteMyCommands", self._m_delete_my_commands, False),
            ("setMyDescription", self._m_set_my_description, False),
            ("getMyDescription", self._m_get_my_description, False),
            ("setMyShortDescription", self._m_set_my_short_description, False),
            ("getMyShortDescription", self._m_get_my_short_description, False),
            ("getChat", self._m_get_chat, False),
            ("getChatMember", self._m_get_chat_member, False),
            ("getChatAdministrators", self._m_get_chat_administrators, False),
            ("getChatMemberCount", self._m_get_chat_member_count, False),
            ("sendDocument", self._m_send_document, False),
            ("sendPhoto", self._m_send_photo, False),
            ("sendChatAction", self._m_send_chat_action, False),
            ("copyMessage", self._m_copy_message, False),
            ("forwardMessage", self._m_forward_message, False),
            ("pinChatMessage", self._m_pin_chat_message, False),
            ("unpinChatMessage", self._m_unpin_chat_message, False),
            ("getFile", self._m_get_file, False),
            ("createForumTopic", self._m_create_forum_topic, False),
            ("closeForumTopic", self._m_close_forum_topic, False),
            ("reopenForumTopic", self._m_reopen_forum_topic, False),
            ("deleteForumTopic", self._m_delete_forum_topic, False),
            ("sendPoll", self._m_send_poll, False),
            ("stopPoll", self._m_stop_poll, False),
        ):
            self._methods[name.lower()] = (name, func, is_async)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Start serving; return the base_url to give PTB ("http://host:port/bot")."""
        self._poll_event = asyncio.Event()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.host = host
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; wakes pending long polls and delays first."""
        if self._stopping is not None:
            self._stopping.set()
        if self._poll_event is not None:
            self._poll_event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Bot API base URL for PTB's base_url."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """File download base URL for PTB's base_file_url."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ registry

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """Register (or update) a user."""
        u = self.users.get(user_id)
        if u is None:
            u = self.users[user_id] = FakeUser(user_id, first_name)
        u.first_name = first_name
        u.last_name = last_name
        u.username = username
        u.language_code = language_code
        return u

    def private_chat(self, user: FakeUser | int) -> FakeChat:
        """The private chat with a user (the user has started the bot); chat id == user id."""
        u = self._user(user)
        chat = self.chats.get(u.id)
        if chat is None:
            chat = self.chats[u.id] = FakeChat(u.id, "private", user=u)
            chat.members[u.id] = "member"
        return chat

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool = False,
        username: str | None = None,
        creator: FakeUser | int | None = None,
        admins: Iterable[FakeUser | int] = (),
        members: Iterable[FakeUser | int] = (),
        bot_status: str = "member",
        forum: bool = False,
    ) -> FakeChat:
        """Register a group (or supergroup) the bot is in; forum=True: a forum supergroup
        (topics), which needs supergroup=True as on Telegram."""
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if bot_status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {bot_status!r}")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = FakeChat(chat_id, "group")
        chat.type = "supergroup" if supergroup else "group"
        chat.title = title
        chat.username = username
        chat.bot_status = bot_status
        chat.is_forum = forum
        for m in members:
            chat.members[self._user(m).id] = "member"
        for a in admins:
            chat.members[self._user(a).id] = "administrator"
        if creator is not None:
            chat.members[self._user(creator).id] = "creator"
        return chat

    def set_member_status(self, chat: FakeChat | int, user: FakeUser | int, status: str) -> None:
        """Set what getChatMember answers for a user in a chat."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._chat(chat).members[self._user(user).id] = status

    def _user(self, user: FakeUser | int) -> FakeUser:
        uid = user.id if isinstance(user, FakeUser) else int(user)
        try:
            return self.users[uid]
        except KeyError:
            raise KeyError(f"unknown user {uid}; register it with fake.user()") from None

    def _chat(self, chat: FakeChat | int) -> FakeChat:
        cid = chat.id if isinstance(chat, FakeChat) else int(chat)
        try:
            return self.chats[cid]
        except KeyError:
            raise KeyError(
                f"unknown chat {cid}; register it with fake.private_chat() or fake.group()"
            ) from None

    def _lookup_chat(self, cid: int | str) -> FakeChat | None:
        if isinstance(cid, str):
            name = cid.lstrip("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name and chat.type != "private":
                    return chat
            return None
        return self.chats.get(cid)

    # ------------------------------------------------------------------ inspection

    def messages(self, chat: FakeChat | int) -> list[StoredMessage]:
        """All stored messages of a chat (user- and bot-sent, deleted included), in order."""
        c = self.chats.get(chat.id if isinstance(chat, FakeChat) else int(chat))
        return list(c.messages.values()) if c else []

    def bot_messages(self, chat: FakeChat | int) -> list[StoredMessage]:
        """Messages the bot sent to a chat that are not deleted."""
        return [m for m in self.messages(chat) if m.from_bot and not m.deleted]

    def message(self, chat: FakeChat | int, message_id: int) -> StoredMessage:
        """One stored message."""
        return self._chat(chat).messages[message_id]

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        m = method.lower()
        return [c for c in self.calls if c.method.lower() == m]

    @property
    def pending_updates_count(self) -> int:
        """Updates injected but not yet confirmed by getUpdates."""
        return len(self._pending)

    def my_commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """Commands set with setMyCommands for a scope and language."""
        return self.commands.get(self._scope_key(scope, language_code), [])

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = ""
    ) -> Any:
        """Wait until predicate() is truthy (re-checked on every change and every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    self._dump(f"timed out after {timeout}s waiting for {what or predicate}")
                )
            fut = loop.create_future()
            self._waiters.append(fut)
            try:
                # Predicates may depend on state outside the fake, so poll as well.
                await asyncio.wait_for(fut, min(remaining, 0.02))
            except TimeoutError:
                pass
            finally:
                if fut in self._waiters:
                    self._waiters.remove(fut)

    async def wait_for_message(
        self,
        chat: FakeChat | int,
        contains: str | None = None,
        *,
        timeout: float = 5.0,
        after: int = 0,
        predicate: Callable[[StoredMessage], bool] | None = None,
    ) -> StoredMessage:
        """Wait for a live bot message with message_id > after whose plain text has `contains`."""

        def find() -> StoredMessage | None:
            for m in self.messages(chat):
                if m.message_id <= after or not m.from_bot or m.deleted:
                    continue
                if contains is not None and contains not in m.content:
                    continue
                if predicate is not None and not predicate(m):
                    continue
                return m
            return None

        cid = chat.id if isinstance(chat, FakeChat) else chat
        return await self.wait_for(find, timeout, f"a bot message in {cid} containing {contains!r}")

    async def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,
        since: int = 0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> Call:
        """Wait for a recorded call of a method with seq >= since."""
        m = method.lower()

        def find() -> Call | None:
            for c in self.calls[since:]:
                if c.method.lower() == m and (predicate is None or predicate(c)):
                    return c
            return None

        return await self.wait_for(find, timeout, f"a {method} call")

    def _dump(self, headline: str) -> str:
        recent = [c for c in self.calls if not (c.method == "getUpdates" and c.ok and not c.result)]
        lines = [
            headline,
            f"last {min(len(recent), 20)} of {len(self.calls)} calls (empty polls omitted):",
        ]
        lines += ["  " + c.short() for c in recent[-20:]]
        lines.append(f"pending updates: {len(self._pending)}; stats: {self.stats.to_json()}")
        return "\n".join(lines)

    def _notify(self) -> None:
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    # ------------------------------------------------------------------ faults & limits

    def add_fault(
        self,
        fault: Fault,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int | None = 1,
    ) -> None:
        """Serve `fault` to the next `times` matching calls (None: every matching call)."""
        self._faults.append(_FaultRule(fault, method.lower() if method else None, chat_id, times))

    def clear_faults(self) -> None:
        """Drop all scripted faults."""
        self._faults.clear()

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        low = method.lower()
        for idx, rule in enumerate(self._faults):
            if rule.method is not None and rule.method != low:
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    del self._faults[idx]
            return rule.fault
        return None

    # ------------------------------------------------------------------ updates

    def _now(self) -> int:
        return int(time.time())

    def _push(self, kind: str, payload: dict) -> dict:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._pending.append(update)
        self.injected.append(update)
        if self._poll_event is not None:
            self._poll_event.set()
        self._notify()
        return update

    def push_update(self, update: dict) -> dict:
        """Inject a raw update (update_id is assigned)."""
        update = {k: v for k, v in update.items() if k != "update_id"}
        if len(update) != 1:
            raise ValueError("an update has exactly one field besides update_id")
        ((kind, payload),) = update.items()
        return self._push(kind, payload)

    def _inject_chat(self, chat: FakeChat | int, user: FakeUser) -> FakeChat:
        cid = chat.id if isinstance(chat, FakeChat) else int(chat)
        c = self.chats.get(cid)
        if c is None and cid == user.id:
            c = self.private_chat(user)
        if c is None:
            raise KeyError(f"unknown chat {cid}")
        if c.migrated_to is not None:
            raise ValueError(f"chat {cid} migrated to {c.migrated_to}")
        if user.deactivated:
            raise ValueError(f"user {user.id} is deactivated")
        if c.type == "private":
            if c.bot_status == "kicked":
                # A blocked bot's "Restart" button unblocks it before /start arrives.
                self.user_unblocked_bot(user)
        else:
            if c.bot_status not in _ACTIVE_STATUSES:
                raise ValueError(f"the bot is not in chat {cid} and would not see this")
            if c.members.get(user.id) not in _ACTIVE_STATUSES:
                c.members[user.id] = "member"
        return c

    def _store_user_message(self, chat: FakeChat, user: FakeUser, **fields: Any) -> StoredMessage:
        msg = StoredMessage(
            chat=chat,
            message_id=chat.take_message_id(),
            date=self._now(),
            from_bot=False,
            sender=user.to_api(),
            **fields,
        )
        chat.messages[msg.message_id] = msg
        return msg

    def _reply_ref(
        self, chat: FakeChat, reply_to: int | StoredMessage | None
    ) -> StoredMessage | None:
        if reply_to is None:
            return None
        mid = reply_to.message_id if isinstance(reply_to, StoredMessage) else int(reply_to)
        return chat.messages[mid]

    def send_text(
        self,
        chat: FakeChat | int,
        user: FakeUser | int,
        text: str,
        *,
        reply_to: int | StoredMessage | None = None,
        entities: list[dict] | None = None,
        thread_id: int | None = None,
    ) -> dict:
        """Inject a text message from a user; bot_command/mention/url entities are computed.

        In a forum, a reply stays in the topic of the message it replies to; `thread_id`
        names the topic otherwise.
        """
        u = self._user(user)
        c = self._inject_chat(chat, u)
        ref = self._reply_ref(c, reply_to)
        msg = self._store_user_message(
            c,
            u,
            text=text,
            raw_text=text,
            entities=detect_entities(text) if entities is None else entities,
            reply_to=ref,
            thread_id=thread_id if thread_id is not None else (ref.thread_id if ref else None),
        )
        return self._push("message", msg.to_api())

    def send_sticker(self, chat: FakeChat | int, user: FakeUser | int, emoji: str = "👍") -> dict:
        """Inject a sticker message from a user."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        n = self._take_file_no()
        sticker = {
            "file_id": f"FAKE-sticker-{n}",
            "file_unique_id": f"Usticker{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 1024,
        }
        msg = self._store_user_message(c, u, extra={"sticker": sticker})
        return self._push("message", msg.to_api())

    def send_photo_from_user(
        self,
        chat: FakeChat | int,
        user: FakeUser | int,
        caption: str | None = None,
        data: bytes = b"\xff\xd8\xff fake jpeg",
        thread_id: int | None = None,
    ) -> dict:
        """Inject a photo message from a user."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        f = self._new_file("photo", data, None, "image/jpeg")
        msg = self._store_user_message(
            c,
            u,
            thread_id=thread_id,
            photo=f,
            caption=caption,
            raw_caption=caption,
            caption_entities=detect_entities(caption) if caption else [],
        )
        return self._push("message", msg.to_api())

    def send_document_from_user(
        self,
        chat: FakeChat | int,
        user: FakeUser | int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict:
        """Inject a document message from a user (downloadable with getFile + /file/)."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        f = self._new_file("document", data, file_name, mime)
        msg = self._store_user_message(
            c,
            u,
            document=f,
            caption=caption,
            raw_caption=caption,
            caption_entities=detect_entities(caption) if caption else [],
        )
        return self._push("message", msg.to_api())

    def forward_from_channel(
        self, chat: FakeChat | int, user: FakeUser | int, text: str, channel_title: str
    ) -> dict:
        """Inject a channel post forwarded by a user (Bot API 7.0 forward_origin)."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        origin = {
            "type": "channel",
            "chat": {"id": -1009876543210, "type": "channel", "title": channel_title},
            "message_id": 77,
            "date": self._now() - 3600,
        }
        msg = self._store_user_message(
            c,
            u,
            text=text,
            raw_text=text,
            entities=detect_entities(text),
            extra={"forward_origin": origin},
        )
        return self._push("message", msg.to_api())

    def press_button(
        self,
        chat: FakeChat | int,
        user: FakeUser | int,
        message_id: int,
        data: str,
        *,
        check: bool = True,
    ) -> str:
        """Inject a callback query for an inline button of a bot message; return the query id."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        msg = c.messages.get(message_id)
        if msg is None or msg.deleted or not msg.from_bot:
            raise ValueError(f"no bot message {message_id} in chat {c.id}")
        if check and not any(b.get("callback_data") == data for b in msg.buttons):
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"buttons: {[b.get('callback_data') for b in msg.buttons]}"
            )
        qid = self._take_query_id()
        self.callback_queries[qid] = {
            "chat_id": c.id,
            "user_id": u.id,
            "message_id": message_id,
            "data": data,
            "answered": False,
        }
        self._push(
            "callback_query",
            {
                "id": qid,
                "from": u.to_api(),
                "message": msg.to_api(),
                "chat_instance": str((c.id * 2654435761) % (2**62)),
                "data": data,
            },
        )
        return qid

    def inline_query(
        self,
        user: FakeUser | int,
        query: str,
        *,
        offset: str = "",
        chat_type: str | None = "sender",
    ) -> str:
        """Inject an inline query; return its id."""
        u = self._user(user)
        qid = self._take_query_id()
        self.inline_queries[qid] = {"user_id": u.id, "query": query, "answered": False}
        payload: dict[str, Any] = {"id": qid, "from": u.to_api(), "query": query, "offset": offset}
        if chat_type:
            payload["chat_type"] = chat_type
        self._push("inline_query", payload)
        return qid

    def _take_query_id(self) -> str:
        n = self._next_query
        self._next_query += 1
        return str(4_000_000_000_000_000 + n)

    def _my_chat_member(self, chat: FakeChat, by: FakeUser, old: str, new: str) -> dict:
        return self._push(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": by.to_api(),
                "date": self._now(),
                "old_chat_member": _member_api(self._bot_api, old),
                "new_chat_member": _member_api(self._bot_api, new),
            },
        )

    def bot_added(
        self, chat: FakeChat | int, by_user: FakeUser | int, *, as_admin: bool = False
    ) -> dict:
        """The bot joins a group: my_chat_member, then a new_chat_members service message."""
        c = self._chat(chat)
        by = self._user(by_user)
        if c.type == "private":
            raise ValueError("use user_unblocked_bot for private chats")
        old = c.bot_status if c.bot_status in ("left", "kicked") else "left"
        new = "administrator" if as_admin else "member"
        c.bot_status = new
        c.bot_removed = False
        if c.members.get(by.id) not in _ACTIVE_STATUSES:
            c.members[by.id] = "member"
        update = self._my_chat_member(c, by, old, new)
        msg = self._store_user_message(c, by, extra={"new_chat_members": [self._bot_api]})
        self._push("message", msg.to_api())
        return update

    def bot_removed(self, chat: FakeChat | int, by_user: FakeUser | int) -> dict:
        """The bot is removed from a group; later sends answer 403 'bot was kicked'."""
        c = self._chat(chat)
        by = self._user(by_user)
        if c.type == "private":
            raise ValueError("use user_blocked_bot for private chats")
        old = c.bot_status if c.bot_status in _ACTIVE_STATUSES else "member"
        new = "kicked" if c.type == "supergroup" else "left"
        c.bot_status = new
        c.bot_removed = True
        return self._my_chat_member(c, by, old, new)

    def user_blocked_bot(self, user: FakeUser | int) -> dict:
        """The user blocks the bot; later sends answer 403 'bot was blocked by the user'."""
        u = self._user(user)
        c = self.private_chat(u)
        c.bot_status = "kicked"
        return self._my_chat_member(c, u, "member", "kicked")

    def user_unblocked_bot(self, user: FakeUser | int) -> dict:
        """The user unblocks (restarts) the bot."""
        u = self._user(user)
        c = self.private_chat(u)
        c.bot_status = "member"
        return self._my_chat_member(c, u, "kicked", "member")

    def vote(
        self,
        chat: FakeChat | int,
        user: FakeUser | int,
        message_id: int,
        option_ids: list[int],
    ) -> str:
        """A user answers (or, with [], retracts) a bot's poll in a chat: Telegram sends a
        `poll_answer` update for non-anonymous polls and a `poll` update with the new
        totals (bots get those for the polls they sent). Returns the poll id."""
        u = self._user(user)
        c = self._inject_chat(chat, u)
        msg = c.messages.get(message_id)
        poll = (msg.extra.get("poll") if msg is not None and not msg.deleted else None) or None
        if poll is None:
            raise ValueError(f"no poll in message {message_id} of chat {c.id}")
        if poll["is_closed"]:
            raise ValueError(f"poll {poll['id']} is closed")
        n = len(poll["options"])
        if any(not 0 <= i < n for i in option_ids) or len(set(option_ids)) != len(option_ids):
            raise ValueError(f"option ids {option_ids} out of range 0..{n - 1}")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("this poll allows one answer")
        entry = self.polls[poll["id"]]
        previous = entry["votes"].pop(u.id, [])
        for i in previous:
            poll["options"][i]["voter_count"] -= 1
        if option_ids:
            entry["votes"][u.id] = list(option_ids)
        for i in option_ids:
            poll["options"][i]["voter_count"] += 1
        poll["total_voter_count"] = len(entry["votes"])
        if not poll["is_anonymous"]:
            self._push(
                "poll_answer",
                {
                    "poll_id": poll["id"],
                    "user": u.to_api(),
                    "option_ids": list(option_ids),
                    "option_persistent_ids": [
                        poll["options"][i]["persistent_id"] for i in option_ids
                    ],
                },
            )
        self._push("poll", copy.deepcopy(poll))
        return str(poll["id"])

    def poll_messages(self, chat: FakeChat | int) -> list[StoredMessage]:
        """The bot's poll messages in a chat (not deleted)."""
        return [m for m in self.bot_messages(chat) if "poll" in m.extra]

    def deactivate_user(self, user: FakeUser | int) -> None:
        """The user deletes their account; later sends answer 403 'user is deactivated'."""
        self._user(user).deactivated = True
        self._notify()

    def migrate_group(
        self, old_id: int, new_id: int, by_user: FakeUser | int | None = None
    ) -> FakeChat:
        """Upgrade a group to a supergroup; sends to old_id then answer 400 migrate_to_chat_id."""
        old = self._chat(old_id)
        if old.type != "group":
            raise ValueError(f"chat {old_id} is not a basic group")
        if new_id in self.chats:
            raise ValueError(f"chat {new_id} already exists")
        new = self.chats[new_id] = FakeChat(
            new_id,
            "supergroup",
            title=old.title,
            bot_status=old.bot_status,
            members=dict(old.members),
        )
        by = self._user(by_user) if by_user is not None else None
        if old.bot_status in _ACTIVE_STATUSES:
            # Service messages arrive only while the bot is in the group.
            sender = by.to_api() if by else None
            m1 = StoredMessage(
                old,
                old.take_message_id(),
                self._now(),
                False,
                sender,
                extra={"migrate_to_chat_id": new_id},
            )
            old.messages[m1.message_id] = m1
            self._push("message", m1.to_api())
            m2 = StoredMessage(
                new,
                new.take_message_id(),
                self._now(),
                False,
                sender,
                extra={"migrate_from_chat_id": old_id},
            )
            new.messages[m2.message_id] = m2
            self._push("message", m2.to_api())
        old.migrated_to = new_id
        return new

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/bot"):
            return await self._handle_api(request, path)
        if path.startswith("/_fake/"):
            return await self._handle_control(request, path[len("/_fake/") :].strip("/"))
        if path.startswith("/file/bot"):
            return self._handle_file(path)
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _read_params(self, request: web.Request) -> dict:
        raw: dict[str, Any] = dict(request.query) if request.query_string else {}
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON object")
                for key, value in body.items():
                    if key in _JSON_KEYS and not isinstance(value, str):
                        raw[key] = json.dumps(value)
                    elif isinstance(value, bool):
                        raw[key] = "true" if value else "false"
                    elif isinstance(value, int | float):
                        raw[key] = str(value)
                    else:
                        raw[key] = value
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        raw[key] = value
                    else:  # aiohttp FileField
                        up = UploadedFile(
                            key, value.filename, value.content_type, value.file.read()
                        )
                        files[key] = up
                        raw[key] = up
        params = _normalise(raw)
        if files:
            for key, value in params.items():
                if isinstance(value, str) and value.startswith("attach://"):
                    params[key] = files.get(value[len("attach://") :], value)
        return params

    async def _handle_api(self, request: web.Request, path: str) -> web.StreamResponse:
        token, _, method = path[4:].partition("/")
        if token != self.token:
            return _json_response(
                401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        received = self.clock()
        entry = self._methods.get(method.lower())
        self.stats.requests += 1
        params: dict = {}
        name = method
        try:
            if entry is None:
                raise ApiError(404, "Not Found")
            name, func, is_async = entry
            params = await self._read_params(request)
            if self._faults:
                fault = self._take_fault(name, params)
                if fault is not None:
                    self.stats.faults_served += 1
                    if fault.kind != "delay":
                        raise fault.to_error()
                    await self._sleep(fault.seconds)
            limited = name in LIMITED_METHODS
            chat_key: int | None = None
            now = 0.0
            if limited and self.limits.enabled:
                now = self.clock()
                chat_key = self._limit_key(params)
                hit = self._limiter.check(self.limits, chat_key, now)
                if hit is not None:
                    retry, kinds = hit
                    self.stats.violations += 1
                    for kind in kinds:
                        self.stats.violations_by_kind[kind] = (
                            self.stats.violations_by_kind.get(kind, 0) + 1
                        )
                    raise ApiError(
                        429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                    )
            result = await func(params) if is_async else func(params)
            if limited:
                self.stats.sends += 1
                self.stats.sends_by_method[name] = self.stats.sends_by_method.get(name, 0) + 1
                if self.limits.enabled:
                    self._limiter.record(chat_key, now)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.code, exc.body()
        if self.record_calls:
            self.calls.append(Call(len(self.calls), name, params, received, status, body))
        self._watch_content(name, params, status, body)
        self._notify()
        return _json_response(status, body)

    def _watch_content(self, name: str, params: dict, status: int, body: dict) -> None:
        """Record 400s and non-NFC outgoing texts (bad_requests, non_nfc_texts)."""
        if status == 400:
            self.bad_requests.append((name, str(body.get("description", ""))))
        for key in ("text", "caption"):
            value = params.get(key)
            if isinstance(value, str) and not unicodedata.is_normalized("NFC", value):
                self.non_nfc_texts.append((name, value[:200]))

    def _limit_key(self, params: dict) -> int | None:
        cid = params.get("chat_id")
        if isinstance(cid, str):
            chat = self._lookup_chat(cid)
            return chat.id if chat else None
        return cid

    async def _sleep(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _handle_file(self, path: str) -> web.StreamResponse:
        token, _, file_path = path[len("/file/bot") :].partition("/")
        if token != self.token:
            return _json_response(
                401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        for f in self.files.values():
            if f.file_path == file_path:
                return web.Response(
                    body=f.data, content_type=f.mime_type or "application/octet-stream"
                )
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    # ------------------------------------------------------------------ helpers for methods

    def _send_target(self, p: dict, key: str = "chat_id") -> FakeChat:
        cid = p.get(key)
        if cid is None or cid == "":
            raise _bad(f"{key} is empty")
        chat = self._lookup_chat(cid)
        if chat is None:
            if isinstance(cid, int) and cid in self.users:
                raise _forbidden("bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400, "Bad Request: " + MIGRATED, {"migrate_to_chat_id": chat.migrated_to}
            )
        if chat.type == "private":
            if chat.user is not None and chat.user.deactivated:
                raise _forbidden("user is deactivated")
            if chat.bot_status == "kicked":
                raise _forbidden("bot was blocked by the user")
        elif chat.bot_status not in _ACTIVE_STATUSES:
            if chat.bot_removed:
                raise _forbidden(f"bot was kicked from the {chat.type} chat")
            raise _forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def _read_target(self, p: dict, key: str = "chat_id") -> FakeChat:
        """Like _send_target but lenient about blocked private chats."""
        cid = p.get(key)
        if cid is None or cid == "":
            raise _bad(f"{key} is empty")
        chat = self._lookup_chat(cid)
        if chat is None:
            raise _bad("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400, "Bad Request: " + MIGRATED, {"migrate_to_chat_id": chat.migrated_to}
            )
        if chat.is_group and chat.bot_status not in _ACTIVE_STATUSES:
            if chat.bot_removed:
                raise _forbidden(f"bot was kicked from the {chat.type} chat")
            raise _forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    @staticmethod
    def _render(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[dict]]:
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    plain, ents = parse_html(text)
                except HtmlParseError as exc:
                    raise _bad(f"can't parse entities: {exc}") from None
            elif mode in ("markdownv2", "markdown"):
                plain, ents = strip_markdown(text, v2=mode == "markdownv2"), []
            else:
                raise _bad("unsupported parse_mode")
        elif entities:
            if not isinstance(entities, list):
                raise _bad("can't parse entities JSON object")
            plain, ents = text, entities
        else:
            plain, ents = text, []
        return _trim(plain, ents)

    def _reply_target(self, chat: FakeChat, p: dict) -> StoredMessage | None:
        rp = p.get("reply_parameters")
        if isinstance(rp, dict):
            mid = rp.get("message_id")
            allow = bool(rp.get("allow_sending_without_reply"))
            if rp.get("chat_id") not in (None, chat.id):
                target_chat = self._lookup_chat(rp["chat_id"]) or chat
            else:
                target_chat = chat
        else:
            mid = p.get("reply_to_message_id")
            allow = bool(p.get("allow_sending_without_reply"))
            target_chat = chat
        if mid is None:
            return None
        msg = target_chat.messages.get(mid)
        if msg is None or msg.deleted:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return msg

    def _store_bot_message(self, chat: FakeChat, **fields: Any) -> StoredMessage:
        msg = StoredMessage(
            chat=chat,
            message_id=chat.take_message_id(),
            date=self._now(),
            from_bot=True,
            sender=self._bot_api,
            **fields,
        )
        chat.messages[msg.message_id] = msg
        return msg

    def _find_message(self, chat: FakeChat, mid: Any, missing: str) -> StoredMessage:
        msg = chat.messages.get(mid) if isinstance(mid, int) else None
        if msg is None or msg.deleted:
            raise _bad(missing)
        return msg

    def _take_file_no(self) -> int:
        n = self._next_file
        self._next_file += 1
        return n

    def _new_file(
        self, kind: str, data: bytes, name: str | None, mime: str | None, url: str | None = None
    ) -> StoredFile:
        n = self._take_file_no()
        ext = ""
        if name and "." in name:
            ext = name[name.rfind(".") :]
        f = StoredFile(
            file_id=f"FAKE-{kind}-{n}",
            file_unique_id=f"U{kind}{n}",
            kind=kind,
            data=data,
            file_name=name,
            mime_type=mime,
            file_path=f"{kind}s/file_{n}{ext or ('.jpg' if kind == 'photo' else '')}",
            url=url,
        )
        if kind == "photo":
            f.width, f.height = _png_size(data) or (1280, 720)
        self.files[f.file_id] = f
        self.files[f.file_id + "-s"] = f
        return f

    def _input_file(self, value: Any, kind: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad("file must be non-empty")
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = (mimetypes.guess_type(value.filename or "")[0]) or mime
            if kind == "photo":
                mime = None
            return self._new_file(kind, value.data, value.filename, mime)
        if isinstance(value, str) and value:
            known = self.files.get(value)
            if known is not None:
                return known
            if value.startswith(("http://", "https://")):
                name = value.rsplit("/", 1)[-1] or None
                return self._new_file(
                    kind, b"", name, mimetypes.guess_type(name or "")[0], url=value
                )
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {kind} in the request")

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ------------------------------------------------------------------ methods

    def _m_true(self, p: dict) -> bool:
        return True

    def _m_get_me(self, p: dict) -> dict:
        return {
            **self._bot_api,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, p: dict) -> list[dict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset")
        limit = p.get("limit") or 100
        limit = max(1, min(100, int(limit)))
        timeout = max(0.0, float(p.get("timeout") or 0))
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            # Telegram remembers allowed_updates across calls.
            self._allowed_updates = frozenset(allowed) if allowed else None
        if isinstance(offset, int) and offset:
            self._confirm(offset)
        self._poll_gen += 1
        gen = self._poll_gen
        assert self._poll_event is not None and self._stopping is not None
        self._poll_event.set()  # an older waiting poll must see the conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if gen != self._poll_gen:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self._batch(limit)
            if batch:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stopping.is_set():
                return []
            self._poll_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_event.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
        else:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()

    def _is_allowed(self, update: dict) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _batch(self, limit: int) -> list[dict]:
        if not self._pending:
            return []
        if any(not self._is_allowed(u) for u in self._pending):
            # Telegram never stores updates of kinds the bot did not ask for.
            self._pending = deque(u for u in self._pending if self._is_allowed(u))
        out = []
        for u in self._pending:
            out.append(u)
            if len(out) >= limit:
                break
        return out

    def _m_set_webhook(self, p: dict) -> bool:
        url = p.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if isinstance(p.get("allowed_updates"), list):
            self._allowed_updates = frozenset(p["allowed_updates"]) or None
        return True

    def _m_delete_webhook(self, p: dict) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_get_webhook_info(self, p: dict) -> dict:
        out: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._allowed_updates is not None:
            out["allowed_updates"] = sorted(self._allowed_updates)
        return out

    def _m_send_message(self, p: dict) -> dict:
        chat = self._send_target(p)
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        plain, ents = self._render(text, p.get("parse_mode"), p.get("entities"))
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _check_markup(p.get("reply_markup"))
        if chat.type != "private" and _has_web_app(markup):
            # Inline web_app buttons work only in private chats (Bot API: InlineKeyboardButton).
            raise _bad("BUTTON_TYPE_INVALID")
        thread = self._thread_of(chat, p)
        reply = self._reply_target(chat, p)
        msg = self._store_bot_message(
            chat,
            text=plain,
            raw_text=text,
            parse_mode=p.get("parse_mode"),
            entities=ents,
            reply_markup=markup,
            reply_to=reply,
            thread_id=thread if thread is not None else (reply.thread_id if reply else None),
        )
        return msg.to_api()

    def _m_send_poll(self, p: dict) -> dict:
        chat = self._send_target(p)
        question = p.get("question")
        if not isinstance(question, str) or not question.strip():
            raise _bad("poll question must be non-empty")
        question, question_entities = self._render(
            question, p.get("question_parse_mode"), p.get("question_entities")
        )
        if not question.strip():
            raise _bad("poll question must be non-empty")
        if len(question) > MAX_POLL_QUESTION:
            raise _bad("poll question length must not exceed 300")
        raw = p.get("options")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _bad("can't parse options JSON object") from None
        if not isinstance(raw, list):
            raise _bad('field "options" must be an Array')
        options = []
        for item in raw:
            text = item.get("text") if isinstance(item, dict) else item
            if not isinstance(text, str) or not text.strip():
                raise _bad("poll options must be non-empty")
            mode = item.get("text_parse_mode") if isinstance(item, dict) else None
            text = self._render(text, mode, None)[0]
            if not text.strip():
                raise _bad("poll options must be non-empty")
            if len(text) > MAX_POLL_OPTION:
                raise _bad("poll options length must not exceed 100")
            # Bot API 9.6: every option has a persistent id that survives reordering.
            options.append({"persistent_id": f"o{len(options)}", "text": text, "voter_count": 0})
        if not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS:
            raise _bad("poll must have 2-12 options")
        anonymous = p.get("is_anonymous", True) not in (False, "false", "False", 0)
        if not anonymous and chat.type == "channel":
            raise _bad("non-anonymous polls can't be sent to channel chats")
        multiple = p.get("allows_multiple_answers") in (True, "true", "True", 1)
        for key, low, high in (("open_period", 5, 600),):
            if p.get(key) is not None and not low <= int(p[key]) <= high:
                raise _bad(f"{key} must be between {low} and {high}")
        poll_id = str(5_000_000_000_000_000_000 + self._next_poll)
        self._next_poll += 1
        poll = {
            "id": poll_id,
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": anonymous,
            "type": p.get("type") or "regular",
            "allows_multiple_answers": multiple,
            "allows_revoting": p.get("allows_revoting", True) not in (False, "false"),
            "members_only": p.get("members_only") in (True, "true"),
        }
        if question_entities:
            poll["question_entities"] = question_entities
        markup = _check_markup(p.get("reply_markup"))
        msg = self._store_bot_message(chat, reply_markup=markup, extra={"poll": poll})
        self.polls[poll_id] = {
            "poll": poll,
            "chat_id": chat.id,
            "message_id": msg.message_id,
            "votes": {},
        }
        return msg.to_api()

    def _m_stop_poll(self, p: dict) -> dict:
        chat = self._send_target(p)
        msg = self._find_message(chat, p.get("message_id"), "message to stop poll not found")
        poll = msg.extra.get("poll")
        if poll is None or not msg.from_bot:
            raise _bad("message with poll to stop not found")
        if poll["is_closed"]:
            raise _bad("poll has already been closed")
        poll["is_closed"] = True
        self._push("poll", copy.deepcopy(poll))
        return copy.deepcopy(poll)

    def _caption(self, p: dict) -> tuple[str | None, str | None, list[dict]]:
        raw = p.get("caption")
        if not raw:
            return None, None, []
        plain, ents = self._render(raw, p.get("parse_mode"), p.get("caption_entities"))
        if len(plain) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return plain or None, raw, ents

    def _send_media(self, p: dict, kind: str) -> dict:
        chat = self._send_target(p)
        f = self._input_file(p.get(kind), kind)
        caption, raw_caption, ents = self._caption(p)
        markup = _check_markup(p.get("reply_markup"))
        thread = self._thread_of(chat, p)
        reply = self._reply_target(chat, p)
        msg = self._store_bot_message(
            chat,
            thread_id=thread if thread is not None else (reply.thread_id if reply else None),
            caption=caption,
            raw_caption=raw_caption,
            caption_entities=ents,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply,
            **{kind: f},
        )
        return msg.to_api()

    def _m_send_document(self, p: dict) -> dict:
        return self._send_media(p, "document")

    def _m_send_photo(self, p: dict) -> dict:
        return self._send_media(p, "photo")

    def _edit_target(self, p: dict) -> StoredMessage:
        chat = self._send_target(p)
        msg = self._find_message(chat, p.get("message_id"), "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        return msg

    def _record_edit(self, msg: StoredMessage) -> None:
        msg.edits.append(Edit(msg.text, msg.raw_text, msg.caption, msg.reply_markup, msg.edit_date))
        msg.edit_date = self._now()

    def _m_edit_message_text(self, p: dict) -> dict | bool:
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise _bad("message text is empty")
        plain, ents = self._render(text, p.get("parse_mode"), p.get("entities"))
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _check_markup(p.get("reply_markup"))
        if p.get("inline_message_id"):
            self.inline_edits.append(
                {
                    "inline_message_id": p["inline_message_id"],
                    "text": plain,
                    "raw_text": text,
                    "reply_markup": markup,
                }
            )
            return True
        msg = self._edit_target(p)
        if msg.text is None:
            raise _bad("there is no text in the message to edit")
        # Omitting reply_markup removes the inline keyboard, as on Telegram.
        if (
            msg.text == plain
            and msg.entities == ents
            and _inline(msg.reply_markup) == _inline(markup)
        ):
            raise _bad(NOT_MODIFIED)
        self._record_edit(msg)
        msg.text, msg.raw_text, msg.entities = plain, text, ents
        msg.parse_mode = p.get("parse_mode")
        msg.reply_markup = markup
        return msg.to_api()

    def _m_edit_message_caption(self, p: dict) -> dict | bool:
        caption, raw, ents = self._caption(p)
        markup = _check_markup(p.get("reply_markup"))
        if p.get("inline_message_id"):
            self.inline_edits.append(
                {
                    "inline_message_id": p["inline_message_id"],
                    "caption": caption,
                    "reply_markup": markup,
                }
            )
            return True
        msg = self._edit_target(p)
        if msg.document is None and msg.photo is None:
            raise _bad("there is no caption in the message to edit")
        if (
            msg.caption == caption
            and msg.caption_entities == ents
            and _inline(msg.reply_markup) == _inline(markup)
        ):
            raise _bad(NOT_MODIFIED)
        self._record_edit(msg)
        msg.caption, msg.raw_caption, msg.caption_entities = caption, raw, ents
        msg.reply_markup = markup
        return msg.to_api()

    def _m_edit_message_reply_markup(self, p: dict) -> dict | bool:
        markup = _check_markup(p.get("reply_markup"))
        if p.get("inline_message_id"):
            self.inline_edits.append(
                {"inline_message_id": p["inline_message_id"], "reply_markup": markup}
            )
            return True
        msg = self._edit_target(p)
        if _inline(msg.reply_markup) == _inline(markup):
            raise _bad(NOT_MODIFIED)
        self._record_edit(msg)
        msg.reply_markup = markup
        return msg.to_api()

    def _m_delete_message(self, p: dict) -> bool:
        chat = self._send_target(p)
        msg = self._find_message(chat, p.get("message_id"), "message to delete not found")
        if (
            chat.is_group
            and not msg.from_bot
            and chat.bot_status not in ("administrator", "creator")
        ):
            raise _bad("message can't be deleted")
        msg.deleted = True
        return True

    def _m_answer_callback_query(self, p: dict) -> bool:
        qid = p.get("callback_query_id")
        q = self.callback_queries.get(qid) if isinstance(qid, str) else None
        if q is None or q["answered"]:
            raise _bad(QUERY_TOO_OLD)
        text = p.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        q["answered"] = True
        self.callback_answers[qid] = {
            "text": text,
            "show_alert": bool(p.get("show_alert")),
            "url": p.get("url"),
            "cache_time": p.get("cache_time"),
        }
        return True

    def _m_answer_inline_query(self, p: dict) -> bool:
        qid = p.get("inline_query_id")
        q = self.inline_queries.get(qid) if isinstance(qid, str) else None
        if q is None or q["answered"]:
            raise _bad(QUERY_TOO_OLD)
        results = p.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for r in results:
            if not isinstance(r, dict) or not isinstance(r.get("type"), str):
                raise _bad('can\'t parse InlineQueryResult: Field "type" must be of type String')
            rid = r.get("id")
            if not isinstance(rid, str) or not 1 <= len(rid.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if rid in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(rid)
        q["answered"] = True
        self.inline_answers[qid] = {
            "results": results,
            "cache_time": p.get("cache_time"),
            "is_personal": bool(p.get("is_personal")),
            "next_offset": p.get("next_offset"),
            "button": p.get("button"),
        }
        return True

    def _m_set_my_commands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND_NAME_RE.match(str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            desc = c.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(p.get("scope"), p.get("language_code"))
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _m_set_chat_menu_button(self, p: dict) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad("can't parse menu button JSON object")
        if button["type"] == "web_app":
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _bad("menu button text is empty")
            _check_web_app(button.get("web_app"))
        cid = p.get("chat_id")
        if cid is None or cid == "":
            self.menu_buttons[None] = button
            return True
        chat = self._lookup_chat(cid)
        if chat is None:
            raise _bad("chat not found")
        if chat.type != "private":
            # Menu buttons exist only in private chats (Bot API: setChatMenuButton).
            raise _bad("chat must be a private chat")
        self.menu_buttons[chat.id] = button
        return True

    def _m_get_chat_menu_button(self, p: dict) -> dict:
        cid = p.get("chat_id")
        if cid is None or cid == "":
            return self.menu_buttons.get(None, {"type": "commands"})
        chat = self._lookup_chat(cid)
        if chat is None:
            raise _bad("chat not found")
        return self.menu_buttons.get(chat.id, self.menu_buttons.get(None, {"type": "commands"}))

    def _m_get_my_commands(self, p: dict) -> list[dict]:
        return self.commands.get(self._scope_key(p.get("scope"), p.get("language_code")), [])

    def _m_delete_my_commands(self, p: dict) -> bool:
        self.commands.pop(self._scope_key(p.get("scope"), p.get("language_code")), None)
        return True

    def _set_description(self, p: dict, kind: str, max_len: int) -> bool:
        text = p.get(kind) or ""
        if len(text) > max_len:
            raise _bad(f"{kind} is too long")
        self.descriptions[(kind, str(p.get("language_code") or ""))] = text
        return True

    def _m_set_my_description(self, p: dict) -> bool:
        return self._set_description(p, "description", 512)

    def _m_set_my_short_description(self, p: dict) -> bool:
        return self._set_description(p, "short_description", 120)

    def _m_get_my_description(self, p: dict) -> dict:
        return {
            "description": self.descriptions.get(
                ("description", str(p.get("language_code") or "")), ""
            )
        }

    def _m_get_my_short_description(self, p: dict) -> dict:
        key = ("short_description", str(p.get("language_code") or ""))
        return {"short_description": self.descriptions.get(key, "")}

    def _m_get_chat(self, p: dict) -> dict:
        chat = self._read_target(p)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_get_chat_member(self, p: dict) -> dict:
        chat = self._read_target(p)
        uid = p.get("user_id")
        if uid == self.bot_id:
            status = "member" if chat.type == "private" else chat.bot_status
            return _member_api(self._bot_api, status)
        user = self.users.get(uid) if isinstance(uid, int) else None
        if user is None:
            raise _bad("user not found")
        status = chat.members.get(uid)
        if status is None:
            status = "left"
        return _member_api(user.to_api(), status)

    def _m_get_chat_administrators(self, p: dict) -> list[dict]:
        chat = self._read_target(p)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        out = [
            _member_api(self.users[uid].to_api(), s)
            for uid, s in chat.members.items()
            if s in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status == "administrator":
            out.append(_member_api(self._bot_api, "administrator"))
        return out

    def _m_get_chat_member_count(self, p: dict) -> int:
        chat = self._read_target(p)
        active = sum(1 for s in chat.members.values() if s in _ACTIVE_STATUSES)
        return active + (1 if chat.bot_status in _ACTIVE_STATUSES else 0)

    def _m_send_chat_action(self, p: dict) -> bool:
        self._send_target(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _source_message(self, p: dict, missing: str) -> StoredMessage:
        src_chat = self._read_target(p, "from_chat_id")
        msg = self._find_message(src_chat, p.get("message_id"), missing)
        if (
            msg.text is None
            and msg.document is None
            and msg.photo is None
            and "sticker" not in msg.extra
        ):
            raise _bad("message can't be copied")
        return msg

    def _m_copy_message(self, p: dict) -> dict:
        chat = self._send_target(p)
        src = self._source_message(p, "message to copy not found")
        markup = _check_markup(p.get("reply_markup"))
        fields: dict[str, Any] = {
            "text": src.text,
            "raw_text": src.raw_text,
            "entities": src.entities,
            "document": src.document,
            "photo": src.photo,
            "caption": src.caption,
            "raw_caption": src.raw_caption,
            "caption_entities": src.caption_entities,
            "extra": {k: v for k, v in src.extra.items() if k == "sticker"},
        }
        if "caption" in p:
            fields["caption"], fields["raw_caption"], fields["caption_entities"] = self._caption(p)
        msg = self._store_bot_message(
            chat, reply_markup=markup, reply_to=self._reply_target(chat, p), **fields
        )
        return {"message_id": msg.message_id}

    def _m_forward_message(self, p: dict) -> dict:
        chat = self._send_target(p)
        src = self._source_message(p, "message to forward not found")
        origin = {"type": "user", "date": src.date, "sender_user": src.sender or self._bot_api}
        extra = {k: v for k, v in src.extra.items() if k == "sticker"}
        extra["forward_origin"] = origin
        msg = self._store_bot_message(
            chat,
            text=src.text,
            raw_text=src.raw_text,
            entities=src.entities,
            document=src.document,
            photo=src.photo,
            caption=src.caption,
            raw_caption=src.raw_caption,
            caption_entities=src.caption_entities,
            extra=extra,
        )
        return msg.to_api()

    def _m_pin_chat_message(self, p: dict) -> bool:
        chat = self._send_target(p)
        msg = self._find_message(chat, p.get("message_id"), "message to pin not found")
        msg.pinned = True
        chat.pinned_message_id = msg.message_id
        return True

    def _m_unpin_chat_message(self, p: dict) -> bool:
        chat = self._send_target(p)
        mid = p.get("message_id") or chat.pinned_message_id
        msg = chat.messages.get(mid) if mid else None
        if msg is not None:
            msg.pinned = False
        if chat.pinned_message_id == mid:
            chat.pinned_message_id = None
        return True

    # Forum topics (Bot API createForumTopic & co.): the bot must be an administrator
    # (can_manage_topics) of a forum supergroup; a topic's id is the id of the service
    # message announcing it, and sending to a missing topic fails.

    def _forum_target(self, p: dict) -> FakeChat:
        chat = self._send_target(p)
        if chat.type != "supergroup" or not chat.is_forum:
            raise _bad("the chat is not a forum")
        if chat.bot_status not in ("administrator", "creator"):
            raise _bad("not enough rights to manage topics")
        return chat

    def _topic(self, chat: FakeChat, p: dict) -> ForumTopic:
        topic = chat.topics.get(p.get("message_thread_id"))  # type: ignore[arg-type]
        if topic is None or topic.deleted:
            raise _bad("message thread not found")
        return topic

    def _m_create_forum_topic(self, p: dict) -> dict:
        chat = self._forum_target(p)
        name = p.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("TOPIC_NAME_EMPTY")
        if len(name) > 128:
            raise _bad("TOPIC_NAME_INVALID")
        color = p.get("icon_color", 7322096)
        if isinstance(color, str) and color.isdigit():
            color = int(color)
        allowed = {7322096, 16766590, 13338331, 9367192, 16749490, 16478047}
        if color not in allowed:
            raise _bad("TOPIC_ICON_COLOR_INVALID")
        service = self._store_bot_message(chat, extra={})
        topic = ForumTopic(service.message_id, name, color)
        service.thread_id = topic.message_thread_id
        service.extra = {"forum_topic_created": {"name": name, "icon_color": color}}
        chat.topics[topic.message_thread_id] = topic
        return topic.to_api()

    def _m_close_forum_topic(self, p: dict) -> bool:
        self._topic(self._forum_target(p), p).closed = True
        return True

    def _m_reopen_forum_topic(self, p: dict) -> bool:
        self._topic(self._forum_target(p), p).closed = False
        return True

    def _m_delete_forum_topic(self, p: dict) -> bool:
        chat = self._forum_target(p)
        topic = self._topic(chat, p)
        topic.deleted = True
        for msg in chat.messages.values():
            if msg.thread_id == topic.message_thread_id:
                msg.deleted = True
        return True

    def _thread_of(self, chat: FakeChat, p: dict) -> int | None:
        """The message_thread_id a send names, checked: only a live, open topic of a forum."""
        thread = p.get("message_thread_id")
        if thread is None or thread == "":
            return None
        if not isinstance(thread, int):
            raise _bad("message thread not found")
        if not chat.is_forum:
            raise _bad("message thread not found")
        topic = self._topic(chat, p)
        if topic.closed:
            raise _bad("TOPIC_CLOSED")
        return thread

    def topic_messages(self, chat: FakeChat | int, thread_id: int) -> list[StoredMessage]:
        """The bot's and users' messages in one forum topic (service message excluded)."""
        return [
            m
            for m in self.messages(chat)
            if m.thread_id == thread_id and "forum_topic_created" not in m.extra
        ]

    def topic_by_name(self, chat: FakeChat | int, name: str) -> ForumTopic | None:
        """The live topic of that name in a forum, if the bot created it."""
        for topic in self._chat(chat).topics.values():
            if topic.name == name and not topic.deleted:
                return topic
        return None

    def _m_get_file(self, p: dict) -> dict:
        f = self.files.get(p.get("file_id") or "")
        if f is None:
            raise _bad("invalid file_id")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": f.size,
            "file_path": f.file_path,
        }

    # ------------------------------------------------------------------ control API

    async def _handle_control(self, request: web.Request, route: str) -> web.StreamResponse:
        try:
            body: dict = {}
            if request.method == "POST" and request.can_read_body:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
            q = request.query
            if route == "updates" and request.method == "POST":
                result = self._control_inject(body)
            elif route == "calls":
                since = int(q.get("since", 0))
                result = [c.to_json() for c in self.calls[since:]]
            elif route == "messages":
                result = [m.to_json() for m in self.messages(int(q["chat_id"]))]
            elif route == "faults" and request.method == "POST":
                result = self._control_fault(body)
            elif route == "limits":
                if request.method == "POST":
                    self.limits = Limits(**{**self.limits.__dict__, **body})
                result = dict(self.limits.__dict__)
            elif route == "stats":
                result = {**self.stats.to_json(), "pending_updates": len(self._pending)}
            elif route == "users" and request.method == "POST":
                u = self.user(
                    int(body["id"]),
                    body.get("first_name", "User"),
                    last_name=body.get("last_name"),
                    username=body.get("username"),
                    language_code=body.get("language_code"),
                )
                if body.get("private_chat", True):
                    self.private_chat(u)
                result = u.to_api()
            elif route == "chats" and request.method == "POST":
                result = self._control_chat(body)
            elif route == "members" and request.method == "POST":
                self.set_member_status(int(body["chat_id"]), int(body["user_id"]), body["status"])
                result = True
            else:
                return _json_response(
                    404, {"ok": False, "description": f"no control route {route!r}"}
                )
        except (KeyError, ValueError, TypeError) as exc:
            return _json_response(400, {"ok": False, "description": f"{type(exc).__name__}: {exc}"})
        return _json_response(200, {"ok": True, "result": result})

    def _control_inject(self, b: dict) -> Any:
        kind = b.get("kind", "text")
        chat = b.get("chat_id")
        user = b.get("user_id")
        if kind == "text":
            return self.send_text(chat, user, b["text"], reply_to=b.get("reply_to"))
        if kind == "sticker":
            return self.send_sticker(chat, user)
        if kind == "photo":
            return self.send_photo_from_user(chat, user, caption=b.get("caption"))
        if kind in ("button", "callback"):
            return self.press_button(
                chat, user, int(b["message_id"]), b["data"], check=b.get("check", True)
            )
        if kind == "inline_query":
            return self.inline_query(user, b.get("query", ""), offset=b.get("offset", ""))
        if kind == "bot_added":
            return self.bot_added(chat, user, as_admin=bool(b.get("as_admin")))
        if kind == "bot_removed":
            return self.bot_removed(chat, user)
        if kind == "blocked":
            return self.user_blocked_bot(user)
        if kind == "unblocked":
            return self.user_unblocked_bot(user)
        if kind == "deactivate":
            self.deactivate_user(user)
            return True
        if kind == "migrate":
            return self.migrate_group(int(b.get("old_id", chat)), int(b["new_id"]), user).to_api()
        if kind == "vote":
            return self.vote(chat, user, int(b["message_id"]), list(b.get("option_ids", [])))
        if kind == "raw":
            return self.push_update(b["update"])
        raise ValueError(f"unknown update kind {kind!r}")

    def _control_fault(self, b: dict) -> bool:
        if b.get("clear"):
            self.clear_faults()
            return True
        kind = b["kind"]
        if kind == "retry_after":
            fault = Fault.retry_after(int(b.get("seconds", 1)))
        elif kind == "forbidden":
            fault = Fault.forbidden(b.get("description", "bot was blocked by the user"))
        elif kind == "bad_request":
            fault = Fault.bad_request(b.get("description", "chat not found"))
        elif kind == "migrate":
            fault = Fault.migrate(int(b["new_chat_id"]))
        elif kind == "server_error":
            fault = Fault.server_error(int(b.get("code", 502)), b.get("description"))
        elif kind == "delay":
            fault = Fault.delay(float(b["seconds"]))
        elif kind == "error":
            fault = Fault.error(int(b["code"]), b["description"], b.get("parameters"))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.add_fault(fault, b.get("method"), b.get("chat_id"), b.get("times", 1))
        return True

    def _control_chat(self, b: dict) -> dict:
        ctype = b.get("type", "group")
        if ctype == "private":
            return self.private_chat(int(b.get("user_id", b.get("id")))).to_api()
        chat = self.group(
            int(b["id"]),
            b.get("title", "Group"),
            supergroup=ctype == "supergroup",
            username=b.get("username"),
            creator=b.get("creator"),
            admins=b.get("admins", []),
            members=b.get("members", []),
            bot_status=b.get("bot_status", "member"),
            forum=bool(b.get("forum", False)),
        )
        return chat.to_api()


def _inline(markup: dict | None) -> list:
    if markup and isinstance(markup.get("inline_keyboard"), list):
        return [row for row in markup["inline_keyboard"] if row]
    return []


def _json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=_dumps(body), content_type="application/json")


# --------------------------------------------------------------------------- CLI


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(token=args.token, bot_username=args.bot_username)
    if args.limits:
        fake.limits = Limits(enabled=True)
    url = await fake.start(port=args.port, host=args.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fakegram listening on {url}", flush=True)
    await stop.wait()
    await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the fake server until SIGINT/SIGTERM."""
    ap = argparse.ArgumentParser(
        prog="python -m tests.fakegram", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--token", default=DEFAULT_TOKEN)
    ap.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    ap.add_argument("--limits", action="store_true", help="enforce Telegram-like rate limits")
    asyncio.run(_serve(ap.parse_args(argv)))


if __name__ == "__main__":
    main()
