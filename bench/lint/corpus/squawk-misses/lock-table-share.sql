-- expect: flagged lock lock-table
-- SHARE mode blocks every write to orders until the transaction ends.
SET lock_timeout = '2s';
LOCK TABLE orders IN SHARE MODE;
INSERT INTO order_totals SELECT user_id, sum(amount) FROM orders GROUP BY user_id;
