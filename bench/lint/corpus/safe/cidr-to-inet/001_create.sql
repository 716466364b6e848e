-- expect: clean
-- cidr -> inet: binary coercible, no rewrite.
CREATE TABLE allowlist (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  network cidr NOT NULL
);
