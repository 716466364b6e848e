-- expect: clean
-- baton:no-transaction
-- The migration tool runs this file outside a transaction (node-pg-migrate's pgm.noTransaction()).
SET lock_timeout = '2s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx ON orders (created_at);
