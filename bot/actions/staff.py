"""Granting and revoking staff roles, shared by /grant, /revoke_role and the web console."""

from __future__ import annotations

import logging

from bot.domain import clock
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.roles import Role
from bot.services import Services
from bot.store import reports

log = logging.getLogger(__name__)

OWNER_FIXED = (
    "⛔ {name} là chủ sở hữu (khai báo trong LOA_ADMIN_IDS); "
    "không thể thay đổi vai trò này từ Telegram."
)
NOT_YOURSELF = "⛔ Bạn không thể tự thay đổi vai trò của chính mình."


async def change_role(
    svc: Services, *, actor_id: int, target: int, role: Role | None, label: str
) -> Role | None:
    """Grant `role` to `target` (None: revoke), audited; return the previous role.

    Owners (LOA_ADMIN_IDS) are fixed, nobody changes their own role, and the actor must be
    an owner or an admin at this moment (read again here, not trusted from the caller).
    """
    if role is Role.OWNER:
        raise InvalidInput(
            "⛔ Không thể cấp quyền chủ sở hữu từ Telegram. "
            "Chủ sở hữu được khai báo trong cấu hình LOA_ADMIN_IDS."
        )
    if svc.settings.is_owner(target):
        raise InvalidInput(OWNER_FIXED.format(name=label))
    if target == actor_id:
        raise InvalidInput(NOT_YOURSELF)
    actor_role = await svc.role_of(actor_id)
    if actor_role not in (Role.OWNER, Role.ADMIN):
        raise PermissionDenied()
    previous = await reports.set_role(
        svc.db, user_id=target, role=role, actor_id=actor_id, actor_role=actor_role, at=clock.now()
    )
    log.info(
        "user %s %s role of user %s: %s -> %s",
        actor_id,
        "granted" if role else "revoked",
        target,
        previous,
        role,
    )
    return previous
