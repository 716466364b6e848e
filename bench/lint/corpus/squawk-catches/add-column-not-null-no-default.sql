-- expect: flagged compat add-column-not-null-no-default
-- Fails on a non-empty table; the old release's INSERTs would not set it anyway.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;
