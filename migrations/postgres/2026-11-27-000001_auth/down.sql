ALTER TABLE api_tokens DROP COLUMN created_by;
DROP TABLE audit_events;
DROP TABLE login_attempts;
DROP TABLE sessions;
