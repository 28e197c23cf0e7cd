"""Moderators' operations on comments shared by the Telegram handlers and the web console:
approve / reject, answer (validated, stored, then delivered by the feedback worker), block."""

from __future__ import annotations

from typing import Any

from bot.domain import clock
from bot.domain import feedback as rules
from bot.domain.errors import InvalidInput
from bot.domain.text import clean
from bot.services import Services
from bot.store import feedback as store

ANSWER_MAX = 3000


async def _role(svc: Services, actor_id: int) -> str | None:
    role = await svc.role_of(actor_id)
    return str(role) if role else None


async def decide(
    svc: Services, comment_id: int, approve: bool, *, actor_id: int
) -> tuple[store.Comment, bool]:
    """Approve or reject (audited); the comment and whether anything changed."""
    return await store.decide(
        svc.db,
        comment_id,
        rules.APPROVED if approve else rules.REJECTED,
        actor_id=actor_id,
        actor_role=await _role(svc, actor_id),
        now=clock.now(),
    )


async def block_sender(
    svc: Services, comment_id: int, *, actor_id: int
) -> tuple[store.Comment, bool]:
    """Block the comment's sender from commenting (audited)."""
    return await store.ban_sender(
        svc.db,
        comment_id,
        actor_id=actor_id,
        actor_role=await _role(svc, actor_id),
        now=clock.now(),
    )


def check_answer(text: str) -> str:
    """The answer as it will be stored (clean NFC text), or InvalidInput in Vietnamese."""
    answer = clean(text or "")
    if not answer:
        raise InvalidInput("Câu trả lời phải là chữ. Hãy trả lời (reply) lại tin nhắn ý kiến.")
    if len(answer) > ANSWER_MAX:
        raise InvalidInput(f"Câu trả lời quá dài ({len(answer)} ký tự; tối đa {ANSWER_MAX}).")
    return answer


def check_unchanged_since_preview(comment: store.Comment, answered_at: Any) -> None:
    """An answer previewed while the comment was answered at `answered_at` (None: not yet)
    is sent only if it still is (nobody answered meanwhile) and its sender is still known."""
    if comment.answered_at != answered_at or comment.chat_id is None:
        raise InvalidInput(
            f"Ý kiến #{comment.id} đã thay đổi (được trả lời hoặc xử lý) sau khi bạn xem; "
            "chưa gửi gì. Hãy xem lại."
        )


async def answer(
    svc: Services, comment_id: int, text: str, *, actor_id: int, answered_in: int | None
) -> store.Comment:
    """Store the office's answer (audited) and queue its delivery to the citizen.

    Stored first, delivered by the feedback worker: a failed send is retried (and survives
    a restart); the worker tells `answered_in` (else the admin chat) how it went.
    """
    comment = await store.set_answer(
        svc.db,
        comment_id,
        check_answer(text),
        actor_id=actor_id,
        actor_role=await _role(svc, actor_id),
        now=clock.now(),
        answered_in=answered_in,
    )
    deliver: Any = svc.features.get("queue_feedback_answer")
    if deliver is not None:
        deliver(comment.id)
    return comment
