"""Broadcast operations shared by the Telegram handlers and the web console: compose a
draft, confirm it (send, schedule, or hand it to the admins under the two-person rule)
and edit a sent broadcast."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.actions.broadcast_guard import authorize_draft
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.errors import InvalidInput
from bot.domain.roles import allows
from bot.services import Services
from bot.store import drafts, message_ops, polls
from bot.store import subscriptions as subs

log = logging.getLogger(__name__)

ALREADY_HANDLED = "Bản tin này đã được xử lý rồi."


async def actor_of(svc: Services, user_id: int | None) -> tuple[int | None, str | None]:
    """(user id, role name) as audit entries record them, the role read now."""
    role = await svc.role_of(user_id)
    return user_id, (str(role) if role else None)


def wake_dispatcher(svc: Services) -> None:
    """Tell the delivery worker there is work (no-op when it is not running)."""
    dispatcher: Any = svc.features.get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake()


async def create_announcement(
    svc: Services,
    source: str,
    *,
    actor_id: int | None,
    report_chat_id: int | None,
    audience: rules.Audience | None = None,
) -> drafts.Broadcast:
    """Validate the HTML, split it into messages and store a draft (InvalidInput if bad)."""
    body, parts = rules.prepare_text(source, sender=svc.settings.sender_line)
    bid = await drafts.create_draft(
        svc.db,
        kind="announcement",
        body=body,
        parts=parts,
        audience=audience or rules.Audience("all"),
        created_by=actor_id,
        now=clock.now(),
        report_chat_id=report_chat_id,
    )
    return await drafts.get_broadcast(svc.db, bid)


def check_future(when: int | None) -> None:
    """A scheduled time must lie in the future (InvalidInput otherwise)."""
    if when is not None and when <= clock.now():
        raise InvalidInput("Thời gian này đã qua. Hãy nhập một thời điểm trong tương lai.")


@dataclass(frozen=True)
class Confirmed:
    """What confirming a draft did."""

    broadcast: drafts.Broadcast
    awaiting_approval: bool  # an editor's cadre broadcast went to the admins
    total: int = 0  # deliveries created
    scheduled: bool = False  # queued for a time in the future


async def confirm(
    svc: Services,
    broadcast_id: int,
    actor_id: int | None,
    when: int | None,
    *,
    explicit: bool = False,
) -> Confirmed:
    """Send (or schedule) a draft; an editor's broadcast reaching cadre chats waits for an
    admin's approval (two-person rule, issue 6). `explicit`: an admin acting on someone
    else's draft on purpose (audited, issue 10). The caller tells people and, unless
    awaiting or scheduled, posts progress and wakes the dispatcher."""
    check_future(when)
    b = await drafts.get_broadcast(svc.db, broadcast_id)
    if b.state != rules.B_DRAFT:
        raise InvalidInput(ALREADY_HANDLED)
    # Only the draft's author (or an admin acting for an author-less draft) sends it (issue 10).
    await authorize_draft(svc, b, actor_id, explicit=explicit, now=clock.now(), action="send")
    actor = await actor_of(svc, actor_id)
    if when is not None:
        await drafts.set_draft_schedule(svc.db, b.id, when)
        b = await drafts.get_broadcast(svc.db, b.id)
    is_admin = allows(await svc.role_of(actor_id), "admin")
    if not is_admin and (
        b.cadre_only or await subs.cadre_recipients(svc.db, rules.parse_audience(b.audience))
    ):
        return await request_approval(svc, b, actor)
    return await start(svc, b, actor, when, admin_approved=is_admin)


async def start(
    svc: Services,
    b: drafts.Broadcast,
    actor: tuple[int | None, str | None],
    when: int | None,
    *,
    admin_approved: bool,
) -> Confirmed:
    """Create the deliveries (one transaction); when not `admin_approved` and a recipient
    is an approved cadre chat, hand the broadcast to the admins instead."""
    try:
        total = await drafts.queue_broadcast(
            svc.db,
            b.id,
            scheduled_at=when,
            actor_id=actor[0],
            actor_role=actor[1],
            now=clock.now(),
            admin_approved=admin_approved,
        )
    except rules.NeedsAdminApproval:
        # A cadre chat subscribed (or was approved) between the check and the queueing.
        return await request_approval(svc, b, actor)
    scheduled = when is not None and when > clock.now()
    return Confirmed(await drafts.get_broadcast(svc.db, b.id), False, total, scheduled)


async def request_approval(
    svc: Services, b: drafts.Broadcast, actor: tuple[int | None, str | None]
) -> Confirmed:
    """Move a draft to "awaiting an admin's [Duyệt]" (audited); the caller asks the admins."""
    ok = await drafts.set_broadcast_state(
        svc.db,
        b.id,
        rules.B_AWAITING,
        (rules.B_DRAFT,),
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        action="broadcast_request_approval",
    )
    if not ok:
        raise InvalidInput(ALREADY_HANDLED)
    return Confirmed(await drafts.get_broadcast(svc.db, b.id), True)


async def check_editable(svc: Services, broadcast_id: int) -> drafts.Broadcast:
    """The broadcast, if its sent text may be edited ([Sửa]); InvalidInput otherwise."""
    b = await drafts.get_broadcast(svc.db, broadcast_id)
    if b.kind == "directive" and b.title:
        raise InvalidInput("Chỉ đạo được sửa trong tệp nội dung, không sửa tại đây.")
    if await polls.poll_of_broadcast(svc.db, b.id) is not None:
        # Telegram cannot edit a sent poll (issue 16): only stop or recall it.
        raise InvalidInput("Không sửa được khảo sát đã gửi; có thể đóng hoặc thu hồi.")
    return b


async def edit_sent(
    svc: Services,
    broadcast_id: int,
    source: str,
    *,
    actor_id: int | None,
    report_chat_id: int | None,
) -> int:
    """Queue the new text of a sent broadcast as durable edits; the number of messages."""
    b = await check_editable(svc, broadcast_id)
    sender = svc.settings.sender_line if b.kind == "announcement" else ""
    body, parts = rules.prepare_text(source, sender=sender)
    if len(parts) != len(b.parts):
        raise InvalidInput(f"Nội dung mới phải vừa {len(b.parts)} tin nhắn như bản cũ.")
    actor = await actor_of(svc, actor_id)
    _action, n = await message_ops.request_edit(
        svc.db,
        b.id,
        body,
        parts,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=report_chat_id,
        now=clock.now(),
    )
    dispatcher: Any = svc.features.get("dispatcher")
    if dispatcher is not None:
        dispatcher.forget(b.id)
    wake_dispatcher(svc)
    return n


def approved_time(b: drafts.Broadcast) -> int | None:
    """When an approved broadcast goes out: its scheduled time if still ahead, else now."""
    return b.scheduled_at if b.scheduled_at and b.scheduled_at > clock.now() else None


async def decide_approval(
    svc: Services, broadcast_id: int, *, approve: bool, actor_id: int | None
) -> tuple[drafts.Broadcast, int | None]:
    """An admin's [Duyệt] / [Từ chối] of an editor's broadcast: (broadcast, deliveries
    created, or None when rejected). The caller wakes the dispatcher / posts progress."""
    b = await drafts.get_broadcast(svc.db, broadcast_id)
    actor = await actor_of(svc, actor_id)
    if b.state != rules.B_AWAITING or b.auto:
        raise InvalidInput("Bản tin này không còn chờ duyệt.")
    if not approve:
        await drafts.set_broadcast_state(
            svc.db,
            b.id,
            rules.B_REJECTED,
            (rules.B_AWAITING,),
            actor_id=actor[0],
            actor_role=actor[1],
            now=clock.now(),
            action="broadcast_reject",
        )
        return b, None
    when = approved_time(b)
    total = await drafts.queue_broadcast(
        svc.db,
        b.id,
        scheduled_at=when,
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
        admin_approved=True,
    )
    return b, total
