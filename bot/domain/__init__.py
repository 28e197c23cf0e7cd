"""Pure Python rules of Loa: no telegram, no aiosqlite imports here.

Import direction: domain ← store ← actions ← handlers / web / workers ← app ← cli:
domain imports nothing of Loa's outside bot.domain. New features add domain/<feature>.py.
Key figures live in the figures/ package (model, vocabulary, numbers, dates, subjects, roles).
"""
