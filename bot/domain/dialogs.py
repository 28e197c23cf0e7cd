"""Open conversations ("dialogs"), the one mechanism every feature's multi-step flow uses.

A dialog is what Loa waits for from one user in one chat: a comment, a time, a new text,
an answer to a citizen. There is at most one per (chat, user): opening another replaces
it, and /cancel ends it whichever feature owns it. Each dialog expires `timeout` seconds
after its last step (LOA_CONVERSATION_TIMEOUT); the handlers' sweeper tells the user.
The registry is bounded: past `max_open` dialogs the oldest is dropped (issue 10, item 9).
Pure Python: no telegram here (bot.handlers.dialogs is the Telegram side).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

Key = tuple[int, int]  # (chat id, user id)


@dataclass
class Dialog:
    """One open conversation: which feature and step, its data, when it lapses."""

    feature: str
    step: str
    chat_id: int
    user_id: int
    label_vi: str  # what the user is doing, for "… đã hết hạn" ("soạn thông báo")
    deadline: float
    prompt_id: int | None = None  # the bot's prompt; in groups only replies to it count
    data: dict[str, Any] = field(default_factory=dict)


class Dialogs:
    """Open dialogs by (chat, user), bounded, each with a deadline."""

    def __init__(self, timeout: float, max_open: int = 10_000) -> None:
        self.timeout = timeout
        self.max_open = max_open
        self._open: OrderedDict[Key, Dialog] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

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
        **data: Any,
    ) -> Dialog:
        """Start a dialog, replacing whatever this user had open in this chat."""
        self._open.pop((chat_id, user_id), None)
        dialog = Dialog(
            feature, step, chat_id, user_id, label_vi, now + self.timeout, prompt_id, dict(data)
        )
        self._open[(chat_id, user_id)] = dialog
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)
        return dialog

    def advance(
        self, dialog: Dialog, step: str, now: float, *, prompt_id: int | None = None, **data: Any
    ) -> None:
        """Move to the next step; the deadline restarts."""
        dialog.step = step
        dialog.deadline = now + self.timeout
        if prompt_id is not None:
            dialog.prompt_id = prompt_id
        dialog.data.update(data)
        key = (dialog.chat_id, dialog.user_id)
        # It may have lapsed while its step was being handled (the user is answering:
        # keep it); another dialog opened meanwhile wins.
        current = self._open.setdefault(key, dialog)
        if current is dialog:
            self._open.move_to_end(key)

    def get(
        self, chat_id: int, user_id: int, now: float, feature: str | None = None, *steps: str
    ) -> Dialog | None:
        """The live dialog of this user here (optionally of `feature` at one of `steps`)."""
        dialog = self._open.get((chat_id, user_id))
        if dialog is None or dialog.deadline <= now:
            return None
        if feature is not None and dialog.feature != feature:
            return None
        if steps and dialog.step not in steps:
            return None
        return dialog

    def close(self, chat_id: int, user_id: int) -> Dialog | None:
        """End this user's dialog in this chat (if any) and return it."""
        return self._open.pop((chat_id, user_id), None)

    def close_user(self, user_id: int) -> list[Dialog]:
        """End every dialog of a user, in every chat (/forgetme)."""
        keys = [k for k in self._open if k[1] == user_id]
        return [self._open.pop(k) for k in keys]

    def expired(self, now: float) -> list[Dialog]:
        """Remove and return the dialogs whose deadline has passed."""
        gone = [k for k, d in self._open.items() if d.deadline <= now]
        return [self._open.pop(k) for k in gone]
