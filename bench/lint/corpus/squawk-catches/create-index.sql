-- expect: flagged lock create-index-non-concurrent
SET lock_timeout = '2s';
CREATE INDEX orders_created_at_idx ON orders (created_at);
