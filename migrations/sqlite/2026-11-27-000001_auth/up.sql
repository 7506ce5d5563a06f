-- Who signed in: one row per browser session. The cookie holds a random secret; only its SHA-256 is kept, so a
-- copy of the database opens no session. Any process can read a session, so several `serve` processes share them.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    display_name TEXT NOT NULL,
    -- The catalog User the person was matched to at sign-in; NULL for a viewer the catalog does not know.
    user_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A sign-in under way: what the callback needs (state, nonce, PKCE verifier, where to go after), keyed by the hash
-- of a random cookie on the browser that started it. Used once.
CREATE TABLE login_attempts (
    id_hash TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Every write, allowed or refused: who, what, when, from where.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    client_addr TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

ALTER TABLE api_tokens ADD COLUMN created_by TEXT;
