-- expect: clean
-- baton:no-transaction
-- Expand without holding the lock: add the column (its own transaction), then backfill in
-- small transactions that take only row locks.
SET lock_timeout = '2s';
ALTER TABLE users ADD COLUMN nickname text;
UPDATE users SET nickname = split_part(email, '@', 1) WHERE id BETWEEN 1 AND 10000 AND nickname IS NULL;
UPDATE users SET nickname = split_part(email, '@', 1) WHERE id BETWEEN 10001 AND 20000 AND nickname IS NULL;
