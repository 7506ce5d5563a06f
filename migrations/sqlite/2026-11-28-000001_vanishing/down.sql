ALTER TABLE sources DROP COLUMN missing_since;
