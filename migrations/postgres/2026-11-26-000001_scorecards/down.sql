DROP TABLE scorecard_level_changes;
DROP TABLE scorecard_snapshots;
DROP TABLE scorecard_results;
DROP TABLE scorecards;
