-- expect: flagged compat rename-enum-value
-- The running release still writes 'canceled'.
SET lock_timeout = '2s';
ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';
