"""Open conversations ("dialogs"), the one mechanism every feature's multi-step flow uses.

A dialog is what Loa waits for from one user in one chat: a comment, a time, a new text,
an answer to a citizen. There is at most one per (chat, user): opening another replaces
it (the replaced one is listed in `ended`, so the user can be told and its feature can
clean up), and /cancel ends it whichever feature owns it. Each dialog expires `timeout`
seconds after its last step (LOA_CONVERSATION_TIMEOUT); the handlers' sweeper tells the user.

Dialogs live in a per-user mapping (the Application's user_data, which PTB persists on
the SQLite file, so a dialog survives a restart; issue 11) under one key; deadlines are
wall-clock seconds for the same reason. A dialog's `data` holds JSON values only.
Pure Python: no telegram here (bot.handlers.dialogs is the Telegram side).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

KEY = "loa_dialogs"  # user_data[KEY]: {str(chat id): Dialog}
EARLIER_PROMPTS = 10  # older prompts of one dialog a reply may still answer (in groups)
MAX_ENDED = 200  # replaced dialogs waiting to be told (the sweeper drains them each second)

LAPSED = "lapsed"  # why a dialog ended: its deadline passed
REPLACED = "replaced"  # another dialog was opened by the same user in the same chat
CANCELLED = "cancelled"  # /huy, /cancel


@dataclass
class Dialog:
    """One open conversation: which feature and step, its data, when it lapses."""

    feature: str
    step: str
    chat_id: int
    user_id: int
    label_vi: str  # what the user is doing, for "… đã hết hạn" ("soạn thông báo")
    deadline: float  # unix seconds
    prompt_id: int | None = None  # the bot's prompt; in groups only replies to it count
    data: dict[str, Any] = field(default_factory=dict)
    thread_id: int | None = None  # the forum topic it runs in (its notices go there too)
    earlier_prompts: tuple[int, ...] = ()  # prompts of earlier steps, replies still count

    def answers(self, message_id: int | None) -> bool:
        """Whether a message replying to `message_id` replies to one of this dialog's prompts."""
        return message_id is not None and (
            message_id == self.prompt_id or message_id in self.earlier_prompts
        )


class Dialogs:
    """Open dialogs by (chat, user), each with a deadline, kept in `users` (user id →
    that user's dict; by default a plain in-memory one)."""

    def __init__(
        self, timeout: float, users: MutableMapping[int, dict[Any, Any]] | None = None
    ) -> None:
        self.timeout = timeout
        self.users: MutableMapping[int, dict[Any, Any]] = (
            users if users is not None else defaultdict(dict)
        )
        # Dialogs another one replaced, with why, until the Telegram side tells their users
        # and their features (`take_ended`).
        self.ended: list[tuple[Dialog, str]] = []

    def _of(self, user_id: int, create: bool = False) -> dict[str, Dialog] | None:
        data = self.users[user_id] if create else self.users.get(user_id)
        if data is None:
            return None
        found = data.get(KEY)
        if found is None and create:
            found = data[KEY] = {}
        return found

    def __len__(self) -> int:
        return sum(len(data.get(KEY) or {}) for data in list(self.users.values()))

    def open(
        self,
        chat_id: int,
        user_id: int,
        feature: str,
        step: str,
        label_vi: str,
        now: float,
        *,
        prompt_id: int | None = None,
        thread_id: int | None = None,
        **data: Any,
    ) -> Dialog:
        """Start a dialog, replacing whatever this user had open in this chat (listed in
        `ended`: as lapsed if its deadline had passed, else as replaced)."""
        dialog = Dialog(
            feature,
            step,
            chat_id,
            user_id,
            label_vi,
            now + self.timeout,
            prompt_id,
            dict(data),
            thread_id,
        )
        mine = self._of(user_id, create=True)
        assert mine is not None
        old = mine.get(str(chat_id))
        mine[str(chat_id)] = dialog
        if old is not None:
            self.ended.append((old, LAPSED if old.deadline <= now else REPLACED))
            del self.ended[:-MAX_ENDED]
        return dialog

    def advance(
        self, dialog: Dialog, step: str, now: float, *, prompt_id: int | None = None, **data: Any
    ) -> None:
        """Move to the next step; the deadline restarts."""
        dialog.step = step
        dialog.deadline = now + self.timeout
        if prompt_id is not None and prompt_id != dialog.prompt_id:
            if dialog.prompt_id is not None:
                earlier = (*dialog.earlier_prompts, dialog.prompt_id)
                dialog.earlier_prompts = earlier[-EARLIER_PROMPTS:]
            dialog.prompt_id = prompt_id
        dialog.data.update(data)
        # It may have lapsed while its step was being handled (the user is answering:
        # keep it); another dialog opened meanwhile wins.
        mine = self._of(dialog.user_id, create=True)
        assert mine is not None
        mine.setdefault(str(dialog.chat_id), dialog)

    def get(
        self, chat_id: int, user_id: int, now: float, feature: str | None = None, *steps: str
    ) -> Dialog | None:
        """The live dialog of this user here (optionally of `feature` at one of `steps`)."""
        mine = self._of(user_id)
        dialog = mine.get(str(chat_id)) if mine else None
        if dialog is None or dialog.deadline <= now:
            return None
        if feature is not None and dialog.feature != feature:
            return None
        if steps and dialog.step not in steps:
            return None
        return dialog

    def close(self, chat_id: int, user_id: int) -> Dialog | None:
        """End this user's dialog in this chat (if any) and return it."""
        mine = self._of(user_id)
        return mine.pop(str(chat_id), None) if mine else None

    def close_user(self, user_id: int) -> list[Dialog]:
        """End every dialog of a user, in every chat (/forgetme)."""
        mine = self._of(user_id)
        if not mine:
            return []
        gone = list(mine.values())
        mine.clear()
        return gone

    def expired(self, now: float) -> list[Dialog]:
        """Remove and return the dialogs whose deadline has passed."""
        gone: list[Dialog] = []
        for data in list(self.users.values()):
            mine = data.get(KEY)
            if not mine:
                continue
            for chat, dialog in list(mine.items()):
                if dialog.deadline <= now:
                    gone.append(mine.pop(chat))
        return gone

    def take_ended(self) -> list[tuple[Dialog, str]]:
        """The dialogs replaced since the last call, with why (LAPSED or REPLACED)."""
        ended, self.ended = self.ended, []
        return ended
