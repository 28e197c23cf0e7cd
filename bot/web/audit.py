"""Nhật ký: the audit log with filters; staff roles granted and revoked here go through
bot.actions.staff.change_role, the rule /grant and /revoke_role use."""

from __future__ import annotations

from aiohttp import web

from bot.actions.staff import change_role
from bot.domain import feedback as day_rules
from bot.domain.audit import detail_text
from bot.domain.errors import InvalidInput
from bot.domain.roles import ROLE_LABELS_VI, Role
from bot.store import console as views
from bot.store import reports
from bot.web.server import Call, Route, ok

PAGE = 50
GRANTABLE = (Role.ADMIN, Role.EDITOR, Role.MODERATOR)


async def page(call: Call) -> web.StreamResponse:
    """Audit entries (filters: action, actor, dates) and the staff with their roles."""
    tz = call.svc.settings.tz
    start = day_rules.parse_day(call.query("from")) if call.query("from") else None
    end = day_rules.parse_day(call.query("to")) if call.query("to") else None
    lo, hi = day_rules.day_range(start, end, tz)
    actor = call.query("actor")
    offset = call.int_query("offset")
    lines, total = await views.audit_page(
        call.db,
        action=call.query("action") or None,
        actor_id=int(actor) if actor.isascii() and actor.isdigit() and len(actor) < 19 else None,
        since=lo or None,
        until=hi if end else None,
        limit=PAGE,
        offset=offset,
    )
    staff = await reports.list_staff(call.db)
    names = await reports.user_names(
        call.db, [m.user_id for m in staff] + sorted(call.svc.settings.admin_ids)
    )
    return call.render(
        "audit.html",
        lines=lines,
        total=total,
        offset=offset,
        page_size=PAGE,
        detail=detail_text,
        actions=await views.audit_actions(call.db),
        filters={k: call.query(k) for k in ("action", "actor", "from", "to")},
        staff=staff,
        owners=sorted(call.svc.settings.admin_ids),
        names=names,
        grantable=[(r.value, ROLE_LABELS_VI[r]) for r in GRANTABLE],
    )


async def set_role(call: Call) -> web.StreamResponse:
    """Grant a role (or revoke with role "none") to a Telegram user id."""
    form = await call.form()
    raw_user, raw_role = str(form.get("user_id", "")).strip(), str(form.get("role", ""))
    if not (raw_user.isascii() and raw_user.isdigit()) or len(raw_user) > 16:
        raise InvalidInput("Mã người dùng Telegram phải là số.")
    if raw_role not in {"none", *(r.value for r in GRANTABLE)}:
        raise InvalidInput("Vai trò không hợp lệ.")
    target = int(raw_user)
    role = None if raw_role == "none" else Role(raw_role)
    names = await reports.user_names(call.db, [target])
    label = names.get(target, str(target))
    previous = await change_role(
        call.svc, actor_id=call.user_id, target=target, role=role, label=label
    )
    if previous == role:
        return ok(f"{label}: không có gì thay đổi.")
    refresh = call.svc.features.get("refresh_staff_menu")
    if refresh is not None:
        await refresh(target)
    if role is None:
        return ok(f"Đã thu hồi vai trò của {label}.")
    return ok(f"Đã cấp vai trò {ROLE_LABELS_VI[role]} cho {label}.")


ROUTES = [
    Route("GET", "/ui/audit", page, "admin"),
    Route("POST", "/api/roles", set_role, "admin"),
]
