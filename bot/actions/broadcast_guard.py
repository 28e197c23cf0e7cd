"""Who may act on a broadcast, and on which version of it (issue 10, item 1).

Two rules in one place, called by Telegram handlers and (later) the web console:
- `version_of` / `check_version`: every two-step button carries the version of the
  broadcast the presser was shown (bot.domain.broadcasts.content_version); a press on
  a broadcast that changed since is refused with a Vietnamese alert.
- `authorize_draft`: a draft belongs to its author. Only the author may change, send,
  schedule or discard it; an owner or admin may act on someone else's draft only
  explicitly (a button marked as acting on behalf, from /xembantin <id>), which is
  written to the audit log.
- `hold_if_authority_lapsed` (item 8): an admin-approved broadcast is re-checked when it
  is about to start; if its author or approver lost their role since, it goes back to
  awaiting approval (its queued deliveries stay, untouched, until an admin approves again).
"""

from __future__ import annotations

from bot.domain import broadcasts as rules
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.roles import Role, allows
from bot.services import Services
from bot.store import drafts, staff
from bot.store.drafts import Broadcast

STALE = (
    "⚠️ Bản tin #{id} đã thay đổi sau khi bạn xem (đối tượng, nội dung, lịch gửi hoặc đã "
    "thu hồi). Không có gì được thực hiện. Hãy xem lại: /xembantin {id}"
)
NOT_AUTHOR = (
    "⛔ Bản nháp #{id} do người khác soạn: chỉ người soạn được đổi đối tượng, hẹn giờ, gửi "
    "hay hủy. Quản trị viên có thể thay mặt (có ghi nhật ký) từ /xembantin {id}."
)


class StaleVersion(InvalidInput):
    """The button was made for a version of the broadcast that is no longer stored."""


def version_of(b: Broadcast) -> str:
    """The version staff are shown of this broadcast (goes into every action button)."""
    return rules.content_version(
        b.kind, b.audience, b.parts, b.scheduled_at, revoked=b.revoked_at is not None
    )


def check_version(b: Broadcast, shown: str | None) -> None:
    """StaleVersion unless `shown` (from the button) is the stored broadcast's version."""
    if shown is None or shown != version_of(b):
        raise StaleVersion(STALE.format(id=b.id))


async def authorize_draft(
    svc: Services, b: Broadcast, actor_id: int | None, *, explicit: bool, now: int, action: str
) -> Role:
    """The actor's role if they may act on this draft; PermissionDenied otherwise.

    The author may; an owner/admin may when acting `explicitly` (audited as
    broadcast_on_behalf); a draft without an author (automatic directives) is the admins'.
    """
    role = await svc.role_of(actor_id)
    if role is None or not allows(role, "broadcast"):
        raise PermissionDenied()
    if actor_id is not None and b.created_by == actor_id:
        return role
    is_admin = allows(role, "admin")
    if is_admin and b.created_by is None:
        return role
    if is_admin and explicit:
        async with svc.db.transaction() as conn:
            await staff.record_audit(
                conn,
                at=now,
                actor_id=actor_id,
                actor_role=str(role),
                action="broadcast_on_behalf",
                target=b.id,
                detail={"author": b.created_by, "action": action},
            )
        return role
    raise PermissionDenied(NOT_AUTHOR.format(id=b.id))


HELD = (
    "⏸ Bản tin #{id} bị giữ lại, chưa gửi đến ai: {reason}. Bản tin trở về trạng thái chờ"
    " duyệt; một quản trị viên cần duyệt lại (hoặc dừng: /xembantin {id})."
)


async def lapsed_authority(svc: Services, b: Broadcast) -> str | None:
    """Why `b` may no longer go out as approved (Vietnamese), None if its author still
    holds "broadcast" and its approver still holds "admin" (roles read now)."""
    if b.created_by is not None and not await svc.may(b.created_by, "broadcast"):
        return f"người soạn (ID {b.created_by}) không còn quyền gửi bản tin"
    if b.approved_by is not None and not await svc.may(b.approved_by, "admin"):
        return f"người duyệt (ID {b.approved_by}) không còn quyền quản trị"
    return None


async def hold_if_authority_lapsed(svc: Services, b: Broadcast, now: int) -> str | None:
    """Hold a queued broadcast whose author or approver lost their role: the notice for
    the admins if it was held now, None if it may go (or already left the queue)."""
    reason = await lapsed_authority(svc, b)
    if reason is None:
        return None
    held = await drafts.set_broadcast_state(
        svc.db,
        b.id,
        rules.B_AWAITING,
        (rules.B_QUEUED,),
        actor_id=None,
        actor_role=None,
        now=now,
        action="broadcast_held",
    )
    return HELD.format(id=b.id, reason=reason) if held else None
