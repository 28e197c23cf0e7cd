"""Who may do what: the roles of the office's staff, highest first."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Staff roles; owners come from LOA_ADMIN_IDS, the others from the roles table."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    MODERATOR = "moderator"


ROLE_LABELS_VI = {
    Role.OWNER: "chủ sở hữu",
    Role.ADMIN: "quản trị viên",
    Role.EDITOR: "biên tập viên",
    Role.MODERATOR: "kiểm duyệt viên",
}

# Which roles each permission admits. Owners and admins may do everything.
_ALLOWED: dict[str, frozenset[Role]] = {
    "admin": frozenset({Role.OWNER, Role.ADMIN}),
    "broadcast": frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    "content": frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR}),
    "moderate": frozenset({Role.OWNER, Role.ADMIN, Role.MODERATOR}),
    "staff": frozenset(Role),
}


def allows(role: Role | None, permission: str) -> bool:
    """True when `role` holds `permission` (one of the keys of _ALLOWED)."""
    if role is None:
        return False
    return role in _ALLOWED[permission]


PERMISSIONS = frozenset(_ALLOWED)
