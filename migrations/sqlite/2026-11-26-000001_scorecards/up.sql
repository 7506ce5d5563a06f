-- Scorecard definitions as last read: levels and rules as JSON, so pages need not parse files.
CREATE TABLE scorecards (
    name TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    definition TEXT NOT NULL,
    path TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The latest result of every entity against every scorecard that applies to it. level is the index of the highest
-- level reached (-1: none); rules is the JSON list of every rule's result.
CREATE TABLE scorecard_results (
    scorecard TEXT NOT NULL,
    entity_ref TEXT NOT NULL,
    owner_ref TEXT,
    level INTEGER NOT NULL,
    rules TEXT NOT NULL,
    failing INTEGER NOT NULL,
    budget_remaining REAL,
    evaluated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scorecard, entity_ref)
);
CREATE INDEX scorecard_results_owner ON scorecard_results (owner_ref);
CREATE INDEX scorecard_results_entity ON scorecard_results (entity_ref);

-- Daily snapshots, rolled up per owner and level: how many entities stood at each level, and their budgets.
CREATE TABLE scorecard_snapshots (
    scorecard TEXT NOT NULL,
    taken_on TIMESTAMP NOT NULL,
    owner_ref TEXT NOT NULL,
    level INTEGER NOT NULL,
    entities INTEGER NOT NULL,
    budget_sum REAL NOT NULL,
    budget_count INTEGER NOT NULL,
    budget_min REAL,
    PRIMARY KEY (scorecard, taken_on, owner_ref, level)
);

-- Every change of an entity's level, as evaluations find it.
CREATE TABLE scorecard_level_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scorecard TEXT NOT NULL,
    entity_ref TEXT NOT NULL,
    from_level INTEGER,
    to_level INTEGER NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX scorecard_level_changes_entity ON scorecard_level_changes (entity_ref, at);
CREATE INDEX scorecard_level_changes_at ON scorecard_level_changes (scorecard, at);
