-- expect: flagged lock exclude-constraint
-- Builds a GiST index and checks every row under ACCESS EXCLUSIVE; EXCLUDE has no NOT VALID.
SET lock_timeout = '2s';
ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&);
