-- expect: flagged lock table-rewrite
-- SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE.
SET lock_timeout = '2s';
ALTER TABLE page_views SET UNLOGGED;
