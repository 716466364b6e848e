-- expect: flagged compat json-column
-- json has no equality operator: a running SELECT DISTINCT or UNION over the table fails.
SET lock_timeout = '2s';
ALTER TABLE events ADD COLUMN payload json;
