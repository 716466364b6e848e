-- expect: clean
-- The same sequence in one file, with its own COMMIT between the two steps (baton:no-transaction:
-- the tool does not wrap the file, the file manages its transactions).
-- baton:no-transaction
SET lock_timeout = '2s';
BEGIN;
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
BEGIN;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;
COMMIT;
