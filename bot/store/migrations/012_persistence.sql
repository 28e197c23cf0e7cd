-- Rough edges (issue 11): half-written work survives a restart. python-telegram-bot's
-- persistence (bot.handlers.persistence) keeps each user's user_data (a citizen's
-- comment draft, a moderator's pending answer, the broadcast being edited or scheduled)
-- and the announcement conversation's state here, as JSON, in the same SQLite file.
CREATE TABLE tg_state (
    kind       TEXT    NOT NULL,               -- 'user' or 'conversation:<name>'
    key        TEXT    NOT NULL,               -- user id, or the conversation key as JSON
    value      TEXT    NOT NULL,               -- JSON
    updated_at INTEGER NOT NULL,               -- unix seconds
    PRIMARY KEY (kind, key)
);
