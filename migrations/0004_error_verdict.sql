-- Requests that failed before an answer (upstream error, timeout, broken stream, an internal fault) are recorded
-- too, with verdict 'error' and the error code the client saw. SQLite cannot change a CHECK constraint in place:
-- the requests table is rebuilt with the same rows (violations and reviews refer to it by id only).

CREATE TABLE requests_next (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  constitution TEXT NOT NULL,
  constitution_hash TEXT NOT NULL,
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
  detail TEXT NOT NULL,
  error_code TEXT                        -- the error the client got (verdict 'error'), e.g. upstream_timeout
);
INSERT INTO requests_next (id, time, key_id, constitution, constitution_hash, model, critic_model, verdict, stream,
  rounds, revisions, violation_count, latency_ms, model_tokens, critic_tokens, critic_error, reason, prompt, draft,
  final, detail)
SELECT id, time, key_id, constitution, constitution_hash, model, critic_model, verdict, stream, rounds, revisions,
  violation_count, latency_ms, model_tokens, critic_tokens, critic_error, reason, prompt, draft, final, detail
FROM requests;
DROP TABLE requests;
ALTER TABLE requests_next RENAME TO requests;
CREATE INDEX requests_time ON requests (time DESC, id DESC);
CREATE INDEX requests_verdict ON requests (verdict, time DESC);
CREATE INDEX requests_constitution ON requests (constitution, constitution_hash, time DESC);
CREATE INDEX requests_model ON requests (model, time DESC);
CREATE INDEX requests_latency ON requests (latency_ms);
