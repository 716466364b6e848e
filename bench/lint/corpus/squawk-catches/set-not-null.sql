-- expect: flagged any set-not-null
-- No CHECK proves the column has no NULLs: a full scan under ACCESS EXCLUSIVE.
SET lock_timeout = '2s';
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
