-- Search and review filters that stay fast at millions of rows (the same change as migrations/0012_search.sql).
-- Text search (`q`) keeps its meaning on every backend — a case-insensitive substring — so Postgres serves it with
-- pg_trgm's trigram GIN indexes (ILIKE '%…%' uses them), as SQLite and D1 do with FTS5's trigram tokenizer. A
-- tsvector would match words and stems instead: a search for part of an order number, or for "50%", would answer
-- differently here than on SQLite. pg_trgm ships with Postgres and is a trusted extension (a database owner may
-- create it); with a role that may not, create it once as a superuser before Tenet starts.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX violations_evidence_trgm ON violations USING gin (evidence gin_trgm_ops);
CREATE INDEX violations_critique_trgm ON violations USING gin (critique gin_trgm_ops);
CREATE INDEX requests_prompt_trgm ON requests USING gin (prompt gin_trgm_ops);
CREATE INDEX requests_draft_trgm ON requests USING gin (draft gin_trgm_ops);
CREATE INDEX requests_final_trgm ON requests USING gin (final gin_trgm_ops);

ALTER TABLE reviews ADD COLUMN violation_time BIGINT;
UPDATE reviews SET violation_time = (SELECT v.time FROM violations v WHERE v.id = reviews.violation_id);
CREATE INDEX reviews_label_time ON reviews (label, violation_time DESC, violation_id DESC);
