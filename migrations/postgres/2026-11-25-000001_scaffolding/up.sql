-- Every version of every golden-path template ever ingested, with its folder (template.yaml and skeletons) packed as
-- a .tar.gz, so that any two versions can be rendered and compared long after the files changed.
CREATE TABLE template_versions (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    owner TEXT,
    template_type TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    bundle BYTEA NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace, name, version)
);

-- Scaffolder runs: queued by the form or the API, claimed by one process at a time (claimed_until is its lease).
CREATE TABLE scaffold_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    template_ref TEXT NOT NULL,
    template_version TEXT NOT NULL,
    parameters TEXT NOT NULL,
    state TEXT NOT NULL,
    output TEXT,
    error TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX scaffold_tasks_state ON scaffold_tasks (state, created_at);

-- A task's log, appended to as it runs; seq orders it and lets a live page ask for what came after.
CREATE TABLE scaffold_task_events (
    seq BIGSERIAL PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES scaffold_tasks (id) ON DELETE CASCADE,
    step INTEGER,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX scaffold_task_events_task ON scaffold_task_events (task_id, seq);

-- The .tar.gz a publish:archive step made, for download.
CREATE TABLE scaffold_task_archives (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES scaffold_tasks (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    data BYTEA NOT NULL
);

-- Descriptor files put into the catalog by catalog:register; every refresh reads them beside the configured
-- locations.
CREATE TABLE registered_locations (
    target TEXT PRIMARY KEY NOT NULL,
    task_id TEXT,
    created_at TIMESTAMP NOT NULL
);

-- What a scaffolded service was made with, so that drift can render old and new versions with its own parameters.
CREATE TABLE scaffolded_services (
    entity_ref TEXT PRIMARY KEY NOT NULL,
    template_ref TEXT NOT NULL,
    template_version TEXT NOT NULL,
    parameters TEXT NOT NULL,
    task_id TEXT,
    created_at TIMESTAMP NOT NULL
);
