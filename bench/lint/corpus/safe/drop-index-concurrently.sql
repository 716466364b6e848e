-- expect: clean
-- baton:no-transaction
SET lock_timeout = '2s';
DROP INDEX CONCURRENTLY IF EXISTS orders_legacy_idx;
