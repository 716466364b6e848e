-- expect: flagged lock table-rewrite
-- GENERATED ... STORED computes and writes the value for every existing row.
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (quantity * unit_price) STORED;
