-- expect: flagged lock lock-table
-- An explicit ACCESS EXCLUSIVE lock, held until the migration's transaction ends.
SET lock_timeout = '2s';
LOCK TABLE users IN ACCESS EXCLUSIVE MODE;
UPDATE users SET email = lower(email) WHERE email <> lower(email);
