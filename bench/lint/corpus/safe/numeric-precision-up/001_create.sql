-- expect: clean
-- numeric(10,2) -> numeric(12,2): more precision at the same scale, no rewrite.
CREATE TABLE invoices (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  total numeric(10, 2) NOT NULL
);
