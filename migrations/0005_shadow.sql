-- Shadow mode: a candidate constitution judges the same traffic; each request keeps what it would have done,
-- and the principles only one side found (for per-principle disagreement counts without reading every record).
ALTER TABLE requests ADD COLUMN shadow TEXT;               -- the candidate's name@hash (NULL: no shadow)
ALTER TABLE requests ADD COLUMN shadow_verdict TEXT;       -- what the candidate would have done with the draft
ALTER TABLE requests ADD COLUMN shadow_disagrees INTEGER;  -- 1 when verdicts or violated principles differ
CREATE INDEX requests_shadow ON requests (shadow_disagrees, time DESC);

CREATE TABLE shadow_diffs (
  request_id TEXT NOT NULL,
  time INTEGER NOT NULL,                 -- the request's
  constitution TEXT NOT NULL,            -- the primary's name
  shadow TEXT NOT NULL,                  -- the candidate's name@hash
  principle TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('shadow', 'primary')),  -- which side alone found it violated
  PRIMARY KEY (request_id, principle, side)
);
CREATE INDEX shadow_diffs_time ON shadow_diffs (time DESC);
