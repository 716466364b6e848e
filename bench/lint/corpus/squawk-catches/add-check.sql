-- expect: flagged lock add-check-without-not-valid
SET lock_timeout = '2s';
ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);
