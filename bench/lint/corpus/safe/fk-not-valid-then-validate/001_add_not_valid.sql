-- expect: clean
-- Two migrations, two transactions: ADD ... NOT VALID takes a brief lock and checks no rows;
-- VALIDATE in the next one scans under SHARE UPDATE EXCLUSIVE, which blocks no reads or writes.
SET lock_timeout = '2s';
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
