"""The web console (issue 14): a Telegram Mini App served by the bot process.

server.py (aiohttp server, sign-in, the route guard, security headers, exports), auth.py
(Telegram initData check), routes.py (the route table every URL is in, with its
permission), one module per page: shell (the Mini App page, sign-in links), overview,
feedback, broadcasts, directives, articles, groups, stats, audit; Jinja2 templates in
web/templates/, CSS, JS and the vendored telegram-web-app.js in web/static/.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
Routes call bot.actions and bot.store like Telegram handlers do, never bot.handlers and
never telegram objects; the role is read from the database on every request
(Services.role_of) and checked against the route's permission (bot.domain.roles).
"""
