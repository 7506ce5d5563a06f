-- The text of files holding documents that another part of Portolan owns (OpenSLO and Sloth SLOs), kept from the
-- last time each file parsed, so that a file broken later keeps what it defined.
CREATE TABLE source_documents (
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (source_id, format)
);

-- SLOs as resolved from those files. Identity is (namespace, name), so SLI data survives edits of the file.
CREATE TABLE slos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    col INTEGER NOT NULL,
    source_kind TEXT NOT NULL,
    definition TEXT NOT NULL,
    problems TEXT NOT NULL DEFAULT '[]',
    data_until TIMESTAMP,
    stale_since TIMESTAMP,
    stale_reason TEXT,
    status TEXT,
    evaluated_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (namespace, name)
);
CREATE INDEX slos_service ON slos (namespace, service);

-- SLI samples packed per SLO in blocks: a minute block holds the minutes of one hour, an hour block the hourly
-- rollups of one day (see scorecard::sli). Minute blocks older than the retention are dropped; hour blocks stay.
CREATE TABLE sli_blocks (
    slo_id INTEGER NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
    resolution TEXT NOT NULL,
    start TIMESTAMP NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (slo_id, resolution, start)
) WITHOUT ROWID;

-- API tokens for machines; only a hash of the secret is kept.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    team TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Files read before this migration never kept their SLO documents: read every file once more.
UPDATE sources SET content_hash = '';
