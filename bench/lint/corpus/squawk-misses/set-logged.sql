-- expect: flagged lock table-rewrite
-- SET LOGGED writes the whole table to the WAL under ACCESS EXCLUSIVE.
SET lock_timeout = '2s';
ALTER TABLE page_views SET LOGGED;
