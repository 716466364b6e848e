-- expect: flagged lock statements-after-exclusive-lock
-- users stays locked (ACCESS EXCLUSIVE) while the second ALTER waits for its own lock on orders,
-- which lock_timeout bounds for orders but not for the queue already forming behind users.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;
ALTER TABLE orders ADD COLUMN note text;
