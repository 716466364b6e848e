-- expect: flagged lock statements-after-exclusive-lock
-- Adding a nullable column is instant, but its ACCESS EXCLUSIVE lock is held until the
-- transaction ends: the backfill after it runs with users locked for reads and writes.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN nickname text;
UPDATE users SET nickname = split_part(email, '@', 1);
