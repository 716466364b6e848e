-- expect: clean
-- After the instant ADD COLUMN the transaction holds ACCESS EXCLUSIVE on users, but what follows
-- is another instant catalog change on the same table: the lock is held for microseconds more.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN nickname text;
COMMENT ON COLUMN users.nickname IS 'shown in the header instead of the email';
