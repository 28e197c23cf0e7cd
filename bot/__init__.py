"""Loa: the Telegram bot of a local information and outreach office.

Packages, imports flowing one way (domain ← store ← actions ← handlers / web / workers ←
app ← cli):
- domain/    pure Python rules (no telegram, no aiosqlite)
- store/     aiosqlite with plain SQL, one module per concern
- actions/   application operations needing the store, without telegram objects
- handlers/  python-telegram-bot handlers per feature; web/ the web console (reserved)
- workers/   background tasks (dispatcher, health monitor, daily backups)
- tg/        Telegram plumbing (transport, pacer, update processing)
- app.py     builds the Application; cli/ the `loa` command
Cross-cutting top-level modules, importable from any layer above domain: config.py
(settings), logs.py (logging set-up), services.py (what handlers, actions and workers
share: settings, database, pacer, role check) and charts.py (matplotlib charts for
/stats and `loa report`).

New features (newsroom, casework, polls, outreach reports) each get
domain/<feature>.py, store/<feature>.py, actions/<feature>.py when an operation is shared
by Telegram and the web, handlers/<feature>.py and web/<feature>.py, registered in app.py.
"""

__version__ = "0.1.0"
