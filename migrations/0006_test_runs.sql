-- `tenet test --report`: each constitution's example results as posted, for the dashboard's quality columns.
CREATE TABLE test_runs (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,                 -- when the run was recorded (ms)
  constitution TEXT NOT NULL,            -- the name
  constitution_hash TEXT NOT NULL,       -- the version the examples ran against
  ok INTEGER NOT NULL,                   -- 1 when no example failed
  passed INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  examples INTEGER NOT NULL,
  detail TEXT NOT NULL                   -- the whole run (JSON)
);
CREATE INDEX test_runs_constitution_time ON test_runs (constitution, time DESC);
CREATE INDEX test_runs_time ON test_runs (time DESC);
