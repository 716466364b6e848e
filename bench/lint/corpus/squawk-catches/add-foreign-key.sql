-- expect: flagged lock add-foreign-key-without-not-valid
SET lock_timeout = '2s';
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);
