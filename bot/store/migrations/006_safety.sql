-- Safety (issue 10).

-- Keys Loa generates for itself. dup_key: the key of the duplicate-comment hash, so the
-- stored key is a keyed hash of the masked text, never the text itself.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
INSERT INTO secrets (name, value) VALUES ('dup_key', randomblob(32));

-- Duplicate keys stored before this migration were the folded, unmasked text (phones,
-- ID numbers readable): gone. Duplicate detection restarts from the next comment.
UPDATE comments SET dup_key = '';

-- Who asked to be forgotten (/forgetme): ids only, no name, so that `loa restore` can
-- erase them again from a backup made before they asked.
CREATE TABLE erased_users (
    user_id   INTEGER PRIMARY KEY,
    erased_at INTEGER NOT NULL
);

-- /chidao's copies of a directive in a chat that received it: their [✅ Đã nhận] counts
-- like the delivered message's (bot.store.directives.ack_allowed).
CREATE TABLE directive_copies (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
    message_id   INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
