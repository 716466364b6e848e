-- expect: clean
-- baton:no-transaction
-- Build the unique index without blocking writes, then attach it as the constraint (brief lock).
SET lock_timeout = '2s';
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);
