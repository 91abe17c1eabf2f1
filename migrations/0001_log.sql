-- The violation log: one row per request (passes included), one per violation, one per review label.
-- Applied by `wrangler d1 migrations apply` (Workers, local D1 under wrangler dev) and by Tenet at start (Node).

CREATE TABLE requests (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,                 -- ms since the epoch
  key_id TEXT NOT NULL,                  -- the client key's name, never the key
  constitution TEXT NOT NULL,
  constitution_hash TEXT NOT NULL,
  model TEXT NOT NULL,
  critic_model TEXT,
  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'revised', 'flagged', 'blocked')),
  stream INTEGER NOT NULL,
  rounds INTEGER NOT NULL,
  revisions INTEGER NOT NULL,
  violation_count INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  model_tokens INTEGER NOT NULL,         -- the client's model: draft + revisions
  critic_tokens INTEGER NOT NULL,
  critic_error TEXT,
  reason TEXT NOT NULL,
  prompt TEXT,                           -- texts follow the constitution's logging.content (NULL for none)
  draft TEXT,
  final TEXT,
  detail TEXT NOT NULL                   -- JSON: every stage, choice and round, with calls, latency and tokens
);
CREATE INDEX requests_time ON requests (time DESC, id DESC);
CREATE INDEX requests_verdict ON requests (verdict, time DESC);
CREATE INDEX requests_constitution ON requests (constitution, constitution_hash, time DESC);
CREATE INDEX requests_model ON requests (model, time DESC);

CREATE TABLE violations (
  id TEXT PRIMARY KEY,                   -- request id : choice : round : n (stable, so a retried write is ignored)
  request_id TEXT NOT NULL,
  time INTEGER NOT NULL,                 -- the request's, copied so filters need no join
  constitution TEXT NOT NULL,
  constitution_hash TEXT NOT NULL,
  model TEXT NOT NULL,
  verdict TEXT NOT NULL,                 -- the request's final verdict
  stage TEXT NOT NULL CHECK (stage IN ('input', 'output')),
  choice INTEGER NOT NULL,
  round INTEGER NOT NULL,
  principle TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
  action TEXT NOT NULL CHECK (action IN ('revise', 'block', 'flag')),
  source TEXT NOT NULL CHECK (source IN ('rule', 'critic')),
  evidence TEXT,
  critique TEXT NOT NULL
);
CREATE INDEX violations_time ON violations (time DESC, id DESC);
CREATE INDEX violations_principle ON violations (principle, time DESC);
CREATE INDEX violations_severity ON violations (severity, time DESC);
CREATE INDEX violations_constitution ON violations (constitution, constitution_hash, time DESC);
CREATE INDEX violations_request ON violations (request_id);

CREATE TABLE reviews (
  violation_id TEXT PRIMARY KEY,         -- the latest label of a violation
  principle TEXT NOT NULL,
  label TEXT NOT NULL CHECK (label IN ('confirmed', 'false_positive')),
  note TEXT NOT NULL DEFAULT '',
  time INTEGER NOT NULL
);
CREATE INDEX reviews_principle ON reviews (principle, label);
