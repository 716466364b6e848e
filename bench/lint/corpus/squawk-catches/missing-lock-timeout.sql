-- expect: flagged lock require-lock-timeout
-- Adding a nullable column is instant, but its ACCESS EXCLUSIVE lock waits behind any long query
-- on users, and every query after it waits too: without lock_timeout this can stall the table.
ALTER TABLE users ADD COLUMN nickname text;
