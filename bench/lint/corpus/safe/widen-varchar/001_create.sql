-- expect: clean
-- varchar(10) -> varchar(20): a catalog change, no rewrite, no scan.
CREATE TABLE coupons (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code varchar(10) NOT NULL
);
