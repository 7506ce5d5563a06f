-- Files read by ingestion: what each one reached and what was wrong with it.
CREATE TABLE sources (
    id BIGSERIAL PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    targets TEXT NOT NULL DEFAULT '[]',
    dependencies TEXT NOT NULL DEFAULT '[]',
    problems TEXT NOT NULL DEFAULT '[]',
    error_count INTEGER NOT NULL DEFAULT 0,
    refreshed_at TIMESTAMP NOT NULL
);
CREATE INDEX sources_root ON sources (root);

CREATE TABLE entities (
    id BIGSERIAL PRIMARY KEY,
    entity_ref TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT,
    description TEXT,
    spec_type TEXT,
    lifecycle TEXT,
    owner_ref TEXT,
    display_name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    search_text TEXT NOT NULL,
    body TEXT NOT NULL,
    etag TEXT NOT NULL,
    source_id BIGINT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Lists, search and facets read the in-memory index (catalog::index), not these columns' indexes.
CREATE INDEX entities_source ON entities (source_id);

CREATE TABLE entity_tags (
    entity_id BIGINT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (entity_id, tag)
);

-- Relations as the originating entity states them, one row per direction.
CREATE TABLE relations (
    id BIGSERIAL PRIMARY KEY,
    originating_entity_id BIGINT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    source_ref TEXT NOT NULL,
    relation_type TEXT NOT NULL,
    target_ref TEXT NOT NULL
);
CREATE INDEX relations_source ON relations (source_ref, relation_type);
CREATE INDEX relations_target ON relations (target_ref);
CREATE INDEX relations_originating ON relations (originating_entity_id);

-- Leases make background work run in one process at a time. A busy lease is work under way; an idle one records
-- who did it last and until when nobody needs to do it again.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    busy BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at TIMESTAMP NOT NULL
);

-- Facts about the last refresh of the catalog, one row per key.
CREATE TABLE catalog_stats (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
