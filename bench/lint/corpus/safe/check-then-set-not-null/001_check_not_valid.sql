-- expect: clean
-- PostgreSQL 12+: SET NOT NULL skips the full scan when a validated CHECK (col IS NOT NULL)
-- already proves it. Three migrations: add the CHECK NOT VALID, validate it, then SET NOT NULL
-- and drop the CHECK.
SET lock_timeout = '2s';
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
