-- expect: flagged compat drop-column
-- The running release still selects email.
SET lock_timeout = '2s';
ALTER TABLE users DROP COLUMN email;
