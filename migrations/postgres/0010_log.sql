-- The violation log on Postgres, as migrations/0001–0010 leave it on SQLite and D1 (one numbered scheme: Postgres
-- starts here, and from 0011 on each number is the same change in both dialects). Applied by Tenet at start,
-- under an advisory lock, recorded in tenet_migrations. Ids and principles sort in "C" order, as SQLite sorts them,
-- so pages and listings come out the same on both.

CREATE TABLE requests (
  id TEXT COLLATE "C" PRIMARY KEY,
  time BIGINT NOT NULL,                  -- ms since the epoch
  key_id TEXT NOT NULL,                  -- the client key's name, never the key
  constitution TEXT COLLATE "C" NOT NULL,
  constitution_hash TEXT COLLATE "C" NOT NULL,
  model TEXT NOT NULL,
  critic_model TEXT,
  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'revised', 'flagged', 'blocked', 'error')),
  stream INTEGER NOT NULL,
  rounds INTEGER NOT NULL,
  revisions INTEGER NOT NULL,
  violation_count INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  model_tokens INTEGER NOT NULL,
  critic_tokens INTEGER NOT NULL,
  critic_error TEXT,
  reason TEXT NOT NULL,
  prompt TEXT,
  draft TEXT,
  final TEXT,
  detail TEXT NOT NULL,                  -- JSON: every stage, choice and round
  error_code TEXT,
  shadow TEXT,
  shadow_verdict TEXT,
  shadow_disagrees INTEGER,
  protocol TEXT NOT NULL DEFAULT 'chat',
  client_request_id TEXT
);
CREATE INDEX requests_time ON requests (time DESC, id DESC);
CREATE INDEX requests_verdict ON requests (verdict, time DESC);
CREATE INDEX requests_constitution ON requests (constitution, constitution_hash, time DESC);
CREATE INDEX requests_model ON requests (model, time DESC);
CREATE INDEX requests_latency ON requests (latency_ms);
CREATE INDEX requests_shadow ON requests (shadow_disagrees, time DESC);
CREATE INDEX requests_protocol ON requests (protocol, time DESC);
CREATE INDEX requests_client_request_id ON requests (client_request_id, time DESC);

CREATE TABLE violations (
  id TEXT COLLATE "C" PRIMARY KEY,
  request_id TEXT COLLATE "C" NOT NULL,
  time BIGINT NOT NULL,
  constitution TEXT COLLATE "C" NOT NULL,
  constitution_hash TEXT COLLATE "C" NOT NULL,
  model TEXT NOT NULL,
  verdict TEXT NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('input', 'output')),
  choice INTEGER NOT NULL,
  round INTEGER NOT NULL,
  principle TEXT COLLATE "C" NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
  action TEXT NOT NULL CHECK (action IN ('revise', 'block', 'flag')),
  source TEXT NOT NULL CHECK (source IN ('rule', 'critic')),
  evidence TEXT,
  critique TEXT NOT NULL,
  evidence_part TEXT,
  evidence_start INTEGER
);
CREATE INDEX violations_time ON violations (time DESC, id DESC);
CREATE INDEX violations_principle ON violations (principle, time DESC);
CREATE INDEX violations_severity ON violations (severity, time DESC);
CREATE INDEX violations_constitution ON violations (constitution, constitution_hash, time DESC);
CREATE INDEX violations_request ON violations (request_id);
CREATE INDEX violations_verdict ON violations (verdict, time DESC);
CREATE INDEX violations_model ON violations (model, time DESC);
CREATE INDEX violations_principle_request ON violations (principle, request_id);
CREATE INDEX violations_severity_request ON violations (severity, request_id);

CREATE TABLE reviews (
  violation_id TEXT COLLATE "C" PRIMARY KEY,
  principle TEXT COLLATE "C" NOT NULL,
  label TEXT NOT NULL CHECK (label IN ('confirmed', 'false_positive')),
  note TEXT NOT NULL DEFAULT '',
  time BIGINT NOT NULL
);
CREATE INDEX reviews_principle ON reviews (principle, label);

CREATE TABLE shadow_diffs (
  request_id TEXT COLLATE "C" NOT NULL,
  time BIGINT NOT NULL,
  constitution TEXT NOT NULL,
  shadow TEXT NOT NULL,
  principle TEXT COLLATE "C" NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('shadow', 'primary')),
  PRIMARY KEY (request_id, principle, side)
);
CREATE INDEX shadow_diffs_time ON shadow_diffs (time DESC);

CREATE TABLE test_runs (
  id TEXT COLLATE "C" PRIMARY KEY,
  time BIGINT NOT NULL,
  constitution TEXT COLLATE "C" NOT NULL,
  constitution_hash TEXT COLLATE "C" NOT NULL,
  ok INTEGER NOT NULL,
  passed INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  examples INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX test_runs_constitution_time ON test_runs (constitution, time DESC);
CREATE INDEX test_runs_time ON test_runs (time DESC);

CREATE TABLE admin_sessions (
  id TEXT PRIMARY KEY,
  expires BIGINT NOT NULL
);
CREATE TABLE admin_auth_failures (
  address TEXT PRIMARY KEY,
  window_start BIGINT NOT NULL,
  failures INTEGER NOT NULL
);
