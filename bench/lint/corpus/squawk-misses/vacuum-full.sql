-- expect: flagged lock table-rewrite
-- baton:no-transaction
-- VACUUM cannot run inside a transaction block: the tool runs this file outside one.
SET lock_timeout = '2s';
VACUUM FULL orders;
