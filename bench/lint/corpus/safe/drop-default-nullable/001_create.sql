-- expect: clean
-- Dropping the default of a NULLable column: the running release's INSERTs that leave it out
-- get NULL instead, which the column allows. (Only a NOT NULL column's default is a problem.)
CREATE TABLE profiles (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  theme text DEFAULT 'light'
);
