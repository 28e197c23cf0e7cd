-- Chats the bot has seen (private chats, groups, supergroups, channels).
-- Times are unix seconds (UTC) everywhere in the schema.
CREATE TABLE chats (
    id              INTEGER PRIMARY KEY,          -- Telegram chat id
    type            TEXT    NOT NULL,             -- private | group | supergroup | channel
    title           TEXT,                         -- group title or the private user's name
    username        TEXT,
    active          INTEGER NOT NULL DEFAULT 1,   -- 0 once the bot was removed or blocked
    inactive_reason TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL
);

-- People who wrote to the bot. Personal data: /forgetme deletes the row.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,               -- Telegram user id
    name       TEXT,
    username   TEXT,
    language   TEXT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

-- Staff roles granted from Telegram; owners come from LOA_ADMIN_IDS and are not stored.
CREATE TABLE staff_roles (
    user_id    INTEGER PRIMARY KEY,
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'moderator')),
    granted_by INTEGER,
    granted_at INTEGER NOT NULL
);

-- Every staff action (who, in which role, what, on what, when).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER,
    actor_role TEXT,
    action     TEXT    NOT NULL,
    target     TEXT,
    detail     TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
