-- One table for all background work, so that processes sharing a database run each job once. A row is a job:
-- periodic work (the catalog refresh, Prometheus polling, SLO upkeep, scorecard evaluation and snapshots) keeps its
-- row and is due again at `due_at`; a one-off job (a scaffolder task) is deleted when done. A job is claimed by
-- setting `holder` and `lease_until`; the holder renews the lease while it works, and a job whose lease ran out (its
-- process died) is claimed again by another. On PostgreSQL the claim skips rows other processes have locked
-- (`FOR UPDATE SKIP LOCKED`).
CREATE TABLE jobs (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    holder TEXT,
    lease_until TIMESTAMP,
    -- Claims since the job last finished: more than one means a process stopped while it ran the job.
    attempts INTEGER NOT NULL DEFAULT 0,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_holder TEXT,
    last_error TEXT
);
CREATE INDEX jobs_kind_due ON jobs (kind, due_at);

-- Queued and running scaffolder tasks become jobs; their claims were columns of their own.
INSERT INTO jobs (name, kind, due_at, holder, lease_until, attempts)
SELECT 'scaffold:' || id, 'scaffold', created_at, claimed_by, claimed_until, attempts
FROM scaffold_tasks WHERE state IN ('queued', 'running');

ALTER TABLE scaffold_tasks DROP COLUMN claimed_by;
ALTER TABLE scaffold_tasks DROP COLUMN claimed_until;

DROP TABLE leases;
