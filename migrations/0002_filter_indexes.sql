-- Indexes for filters that a million-row log scanned for (see `npm run bench -- --store-only`).
CREATE INDEX violations_verdict ON violations (verdict, time DESC);
CREATE INDEX violations_model ON violations (model, time DESC);
CREATE INDEX violations_principle_request ON violations (principle, request_id);
CREATE INDEX violations_severity_request ON violations (severity, request_id);
