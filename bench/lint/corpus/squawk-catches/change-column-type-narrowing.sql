-- expect: flagged any change-column-type
-- text -> varchar(50) checks every row, and the running release may write longer values.
SET lock_timeout = '2s';
ALTER TABLE users ALTER COLUMN name TYPE varchar(50);
