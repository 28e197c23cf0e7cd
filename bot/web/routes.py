"""The console's route table: every URL with its permission, in one list (the role-matrix
test walks it, so a new route cannot escape the matrix)."""

from __future__ import annotations

from bot.services import Services
from bot.web import articles, audit, broadcasts, directives, feedback, groups, overview, shell
from bot.web import stats as stats_page
from bot.web.server import Console, Route

ROUTES: list[Route] = [
    *shell.ROUTES,
    *overview.ROUTES,
    *feedback.ROUTES,
    *broadcasts.ROUTES,
    *directives.ROUTES,
    *articles.ROUTES,
    *groups.ROUTES,
    *stats_page.ROUTES,
    *audit.ROUTES,
]


def install(svc: Services) -> Console | None:
    """Serve the console from the bot process when LOA_WEB_PORT or LOA_WEB_URL is set:
    started after the database opens, stopped before it closes."""
    if not svc.settings.web_enabled:
        return None
    console = Console(svc, ROUTES)
    console.warmups.append(stats_page.warm_quarter)
    svc.features["console"] = console
    svc.starters.append(console.start)
    svc.stoppers.append(console.stop)
    return console
