-- When a file that ingestion used to reach was first found missing; its entities stay until it has been gone for the
-- configured grace period (a folder that vanishes for a moment, an unmounted share, deletes nothing).
ALTER TABLE sources ADD COLUMN missing_since TIMESTAMP;
