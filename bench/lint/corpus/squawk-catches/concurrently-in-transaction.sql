-- expect: flagged lock concurrently-in-transaction
-- No baton:no-transaction marker: the migration tool wraps the file in one transaction, and
-- PostgreSQL refuses CREATE INDEX CONCURRENTLY there ("cannot run inside a transaction block").
-- (squawk, like baton, assumes the transaction here, but exempts a file whose only statement
-- is the CREATE INDEX CONCURRENTLY, so this case has two.)
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS coupon_code text;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_coupon_code_idx ON orders (coupon_code);
