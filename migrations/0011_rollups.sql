-- Rollups: requests and violations counted per hour and per day × constitution version × verdict (violations also
-- × principle, severity and action), kept up to date by the store's write in the same transaction as the rows, so
-- stats over months read a few thousand rollup rows instead of every request (`npm run bench -- --store-only`).
-- `grain` is the span in ms (3600000 or 86400000), `start` the span's first ms. Filled here from the rows already
-- logged. WITHOUT ROWID: the rows lie in key order, so a span's rows are read in one sweep. The latency index also
-- carries the time, so a percentile over a time range never reads the table.

CREATE TABLE rollup_requests (
  grain INTEGER NOT NULL,
  start INTEGER NOT NULL,
  constitution TEXT NOT NULL,
  constitution_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,
  requests INTEGER NOT NULL,
  model_tokens INTEGER NOT NULL,
  critic_tokens INTEGER NOT NULL,
  critic_errors INTEGER NOT NULL,
  revised_tries INTEGER NOT NULL,        -- requests that needed a revision
  revised_ok INTEGER NOT NULL,           -- of those, the ones that came out clean (verdict revised)
  shadowed INTEGER NOT NULL,
  disagreed INTEGER NOT NULL,
  PRIMARY KEY (grain, start, constitution, constitution_hash, verdict)
) WITHOUT ROWID;

CREATE TABLE rollup_violations (
  grain INTEGER NOT NULL,
  start INTEGER NOT NULL,
  constitution TEXT NOT NULL,
  constitution_hash TEXT NOT NULL,
  verdict TEXT NOT NULL,
  principle TEXT NOT NULL,
  severity TEXT NOT NULL,
  action TEXT NOT NULL,
  violations INTEGER NOT NULL,
  PRIMARY KEY (grain, start, constitution, constitution_hash, verdict, principle, severity, action)
) WITHOUT ROWID;

INSERT INTO rollup_requests
SELECT g.grain, (r.time / g.grain) * g.grain, r.constitution, r.constitution_hash, r.verdict, COUNT(*),
  SUM(r.model_tokens), SUM(r.critic_tokens), SUM(CASE WHEN r.critic_error IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN r.revisions > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN r.revisions > 0 AND r.verdict = 'revised' THEN 1 ELSE 0 END),
  SUM(CASE WHEN r.shadow IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN r.shadow_disagrees = 1 THEN 1 ELSE 0 END)
FROM requests r, (SELECT 3600000 AS grain UNION ALL SELECT 86400000) g
GROUP BY g.grain, (r.time / g.grain) * g.grain, r.constitution, r.constitution_hash, r.verdict;

INSERT INTO rollup_violations
SELECT g.grain, (v.time / g.grain) * g.grain, v.constitution, v.constitution_hash, v.verdict, v.principle, v.severity,
  v.action, COUNT(*)
FROM violations v, (SELECT 3600000 AS grain UNION ALL SELECT 86400000) g
GROUP BY g.grain, (v.time / g.grain) * g.grain, v.constitution, v.constitution_hash, v.verdict, v.principle,
  v.severity, v.action;

DROP INDEX requests_latency;
CREATE INDEX requests_latency ON requests (latency_ms, time);
