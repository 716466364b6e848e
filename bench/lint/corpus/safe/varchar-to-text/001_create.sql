-- expect: clean
-- varchar(n) -> text: binary coercible, no rewrite.
CREATE TABLE tags (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label varchar(40) NOT NULL
);
