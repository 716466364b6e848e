-- expect: flagged lock add-foreign-key-without-not-valid
-- An inline REFERENCES is a FOREIGN KEY too: SHARE ROW EXCLUSIVE on users while it is added.
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);
