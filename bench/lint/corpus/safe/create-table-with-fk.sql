-- expect: clean
-- A new table referencing an existing one: SHARE ROW EXCLUSIVE on users for an instant,
-- nothing to validate (the new table is empty).
SET lock_timeout = '2s';
CREATE TABLE IF NOT EXISTS api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  key_hash text NOT NULL
);
