"""SQLite storage: one aiosqlite connection, plain SQL, numbered migrations.

db.py (connection, transactions, migrations/*.sql), rows.py (typed row helpers), one
module per concern: articles, people, staff (roles, audit), feedback, reports,
subscriptions, drafts (broadcasts), outbox (deliveries), message_ops (edits/recalls),
directives (+ acks), backup (consistent copies), console (the web console's paginated
read models), web_sessions (console sign-in links and sessions).
New features add store/<feature>.py.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli.
Store modules import bot.domain and each other, never telegram or anything above.
"""
