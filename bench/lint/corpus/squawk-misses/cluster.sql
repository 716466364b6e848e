-- expect: flagged lock table-rewrite
SET lock_timeout = '2s';
CLUSTER orders USING orders_created_at_idx;
