-- expect: flagged lock domain-constraint
-- Checks every column of every table that uses the domain, under lock.
SET lock_timeout = '2s';
ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0);
