-- expect: flagged lock table-rewrite
-- Copies every block of the table to the new tablespace under ACCESS EXCLUSIVE.
SET lock_timeout = '2s';
ALTER TABLE orders SET TABLESPACE fast_ssd;
