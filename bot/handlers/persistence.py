"""python-telegram-bot persistence on Loa's SQLite file: half-written work survives a
restart (issue 11).

What is kept: each user's `user_data` (a citizen's comment draft, a moderator's pending
answer, the broadcast an admin is scheduling or editing) and the states of persistent
ConversationHandlers (the announcement being written). Chat and bot data are not kept
(nothing uses them). PTB writes changes every UPDATE_INTERVAL seconds and at shutdown,
so a clean restart loses nothing and a crash at most that last interval.

Values are JSON; dataclasses registered with `keep` (e.g. the feedback Draft) are
written as tagged objects and rebuilt when read back. A value JSON cannot hold is left
out with a warning rather than breaking the bot.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, TypeVar

from telegram.ext import BasePersistence, PersistenceInput

from bot.store import tg_state
from bot.store.db import Database

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 1.0  # seconds; PTB's default of 60 would lose a minute of drafts on a crash

T = TypeVar("T")
_TYPES: dict[str, type] = {}
_TAG = "__loa_type__"


def keep(cls: type[T]) -> type[T]:
    """Class decorator: instances of this dataclass may be stored in user_data."""
    _TYPES[cls.__name__] = cls
    return cls


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and type(value).__name__ in _TYPES:
        # The fields as they are (json turns tuples into lists and calls _encode again for
        # a nested kept dataclass): asdict deep-copies every field first (issue 17).
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {_TAG: type(value).__name__, **fields}
    raise TypeError(f"{type(value).__name__} is not kept across restarts")


def _decode(obj: dict[str, Any]) -> Any:
    name = obj.pop(_TAG, None)
    if name is None:
        return obj
    cls = _TYPES.get(name)
    if cls is None:
        return None
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {k: v for k, v in obj.items() if k in known}  # fields added later: defaults
    for key, value in values.items():
        if isinstance(value, list) and "tuple" in str(known[key].type):
            values[key] = tuple(value)  # JSON has no tuples
    return cls(**values)


def dumps(data: dict[Any, Any]) -> str:
    """user_data as JSON; entries JSON cannot hold are left out (with a warning)."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        try:
            json.dumps(value, default=_encode)
        except (TypeError, ValueError) as exc:
            log.warning("user_data[%r] not persisted: %s", key, exc)
            continue
        kept[str(key)] = value
    return json.dumps(kept, default=_encode, ensure_ascii=False)


def loads(text: str) -> dict[Any, Any]:
    """The inverse of dumps (registered dataclasses rebuilt)."""
    value = json.loads(text, object_hook=_decode)
    return value if isinstance(value, dict) else {}


class SqlitePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """BasePersistence over the bot's Database (opened here if PTB asks first)."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=UPDATE_INTERVAL,
        )
        self.db = db
        # Users who may have a saved row (loaded at start or written since). PTB asks to
        # save the user_data of every user who sent an update, every second, changed or
        # not; for a reader who never started a draft that was a DELETE of a row that
        # does not exist (half an aiosqlite call per update; issue 17). Only this class
        # creates these rows, so a user outside this set has none to delete.
        self._saved: set[str] = set()

    async def _save_user(self, key: str, value: str | None) -> None:
        if value is None and key not in self._saved:
            return
        await tg_state.save(await self._ready(), tg_state.USER, key, value)
        if value is None:
            self._saved.discard(key)
        else:
            self._saved.add(key)

    async def _ready(self) -> Database:
        # Application.initialize() loads persistence before post_init opens the database.
        if not self.db.is_open:
            await self.db.open()
        return self.db

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Every user's saved user_data."""
        rows = await tg_state.load(await self._ready(), tg_state.USER)
        out: dict[int, dict[Any, Any]] = {}
        self._saved = set(rows)
        for key, value in rows.items():
            try:
                out[int(key)] = loads(value)
            except (ValueError, TypeError) as exc:  # a row from an older, different shape
                log.warning("saved state of user %s ignored: %s", key, exc)
        return out

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Save one user's user_data (an empty one deletes the row)."""
        value = dumps(data) if data else None
        if value == "{}":
            value = None
        await self._save_user(str(user_id), value)

    async def drop_user_data(self, user_id: int) -> None:
        """Forget one user's saved data."""
        await tg_state.save(await self._ready(), tg_state.USER, str(user_id), None)
        self._saved.discard(str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Nothing to refresh: this process is the only writer."""

    async def get_conversations(self, name: str) -> dict[Any, object]:
        """The saved states of one ConversationHandler."""
        rows = await tg_state.load(await self._ready(), tg_state.conversation_kind(name))
        return {tuple(json.loads(key)): json.loads(value) for key, value in rows.items()}

    async def update_conversation(self, name: str, key: Any, new_state: object | None) -> None:
        """Save (or, when it ended, delete) one conversation's state."""
        value = None if new_state is None else json.dumps(new_state)
        await tg_state.save(
            await self._ready(), tg_state.conversation_kind(name), json.dumps(list(key)), value
        )

    # Chat data, bot data and callback data are not kept (store_data says so).
    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Not kept."""
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not kept."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not kept."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not kept."""

    async def get_bot_data(self) -> dict[Any, Any]:
        """Not kept."""
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not kept."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not kept."""

    async def get_callback_data(self) -> None:
        """Not kept."""
        return None

    async def update_callback_data(self, data: Any) -> None:
        """Not kept."""

    async def flush(self) -> None:
        """Every write already went to the database."""
