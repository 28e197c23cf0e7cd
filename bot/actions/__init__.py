"""Application operations = rules that need the store (role checks read from the
database, audience resolution, draft versioning), callable from Telegram handlers, web
routes, workers and the CLI without telegram objects.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
Actions take the Services (bot.services) or a Database plus plain values and return
plain values (Vietnamese text included); they never import telegram, bot.handlers,
bot.web or bot.workers.

- directives.py: directive files with publish_at → automatic directive broadcasts
  (used by /reload, the start-up hook and the dispatcher).
- broadcasts.py: compose, confirm (two-person rule), approve, edit sent broadcasts.
- feedback.py: approve / reject, answer (checked, stored, queued), block.
- staff.py: grant and revoke staff roles.
- The role check is Services.role_of / Services.may (bot/services.py, telegram-free):
  handlers.base.requires() and future web routes both call it.
New features put their shared operations here as actions/<feature>.py (newsroom,
casework, polls, outreach reports).
"""
