-- expect: flagged lock validate-in-same-transaction
-- NOT VALID, then VALIDATE in the same transaction: the ACCESS EXCLUSIVE lock from the ADD is
-- still held while every row is checked.
SET lock_timeout = '2s';
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;
