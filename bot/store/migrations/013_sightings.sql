-- Performance (issue 17): a chat and the user who wrote in it are recorded by one
-- statement. Inserting a row into this view runs both upserts inside SQLite, one trip
-- to the database thread instead of two (bot.store.people.touch). The view itself never
-- holds rows; a NULL chat_id or user_id leaves that table alone.
CREATE VIEW sightings AS SELECT
    NULL AS chat_id, NULL AS chat_type, NULL AS chat_title, NULL AS chat_username,
    NULL AS user_id, NULL AS user_name, NULL AS user_username, NULL AS user_language,
    NULL AS seen_at
    WHERE 0;

CREATE TRIGGER sightings_insert INSTEAD OF INSERT ON sightings
BEGIN
    INSERT INTO chats (id, type, title, username, first_seen, last_seen)
    SELECT NEW.chat_id, NEW.chat_type, NEW.chat_title, NEW.chat_username, NEW.seen_at, NEW.seen_at
    WHERE NEW.chat_id IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title,
        username = excluded.username, last_seen = excluded.last_seen;
    INSERT INTO users (id, name, username, language, first_seen, last_seen)
    SELECT NEW.user_id, NEW.user_name, NEW.user_username, NEW.user_language, NEW.seen_at, NEW.seen_at
    WHERE NEW.user_id IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, username = excluded.username,
        language = excluded.language, last_seen = excluded.last_seen;
END;
