-- expect: flagged compat drop-database
-- baton:no-transaction
-- DROP DATABASE cannot run inside a transaction block either.
DROP DATABASE staging;
