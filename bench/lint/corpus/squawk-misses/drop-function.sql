-- expect: flagged compat drop-function
SET lock_timeout = '2s';
DROP FUNCTION order_total(bigint);
