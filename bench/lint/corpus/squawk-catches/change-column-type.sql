-- expect: flagged lock change-column-type
-- integer -> bigint rewrites the table under ACCESS EXCLUSIVE.
SET lock_timeout = '2s';
ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
