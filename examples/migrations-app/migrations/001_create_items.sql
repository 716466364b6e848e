-- The first version of the schema. A table created in the same migration is new: nothing reads it
-- yet, so no lock or compatibility rule applies to it.
CREATE TABLE items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
