-- expect: flagged lock table-rewrite
-- Adding an identity column fills every existing row from a sequence: a full rewrite.
SET lock_timeout = '2s';
ALTER TABLE audit_log ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
