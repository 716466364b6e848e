-- expect: flagged compat drop-not-null
-- The running release may read the column assuming it is never NULL.
SET lock_timeout = '2s';
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
