CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    busy BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at TIMESTAMP NOT NULL
);
ALTER TABLE scaffold_tasks ADD COLUMN claimed_by TEXT;
ALTER TABLE scaffold_tasks ADD COLUMN claimed_until TIMESTAMP;
UPDATE scaffold_tasks SET claimed_by = (SELECT holder FROM jobs WHERE jobs.name = 'scaffold:' || scaffold_tasks.id),
    claimed_until = (SELECT lease_until FROM jobs WHERE jobs.name = 'scaffold:' || scaffold_tasks.id);
DROP TABLE jobs;
