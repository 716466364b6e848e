-- expect: flagged compat drop-default
-- Two migrations: the first creates the table (nothing flagged there), the second drops the
-- default of a NOT NULL column. The running release inserts without status, relying on the
-- default: every such INSERT now fails with a not-null violation.
CREATE TABLE subscriptions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status text NOT NULL DEFAULT 'active'
);
