-- expect: flagged lock attach-partition-without-check
-- Without a validated CHECK matching the bounds, every row of the partition is scanned while
-- the parent is locked.
SET lock_timeout = '2s';
ALTER TABLE measurements ATTACH PARTITION measurements_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
