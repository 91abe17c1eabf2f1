-- Search and review filters that stay fast at millions of rows (`npm run bench -- --store-only`).
-- Text search (`q`) keeps its meaning — a case-insensitive substring of the evidence and critique, or of the prompt,
-- draft and final — and finds it through FTS5 trigram indexes (every three-character sequence), kept in step with
-- the rows by triggers in the same transaction; the store confirms each candidate with LIKE.
-- Reviews keep their violation's time, so a label filter walks the labelled violations newest first on an index
-- instead of testing every violation.

CREATE VIRTUAL TABLE violations_fts USING fts5(evidence, critique, content='violations', tokenize='trigram');
INSERT INTO violations_fts (violations_fts) VALUES ('rebuild');
CREATE TRIGGER violations_fts_insert AFTER INSERT ON violations BEGIN
  INSERT INTO violations_fts (rowid, evidence, critique) VALUES (new.rowid, new.evidence, new.critique);
END;
CREATE TRIGGER violations_fts_delete AFTER DELETE ON violations BEGIN
  INSERT INTO violations_fts (violations_fts, rowid, evidence, critique) VALUES ('delete', old.rowid, old.evidence, old.critique);
END;

CREATE VIRTUAL TABLE requests_fts USING fts5(prompt, draft, final, content='requests', tokenize='trigram');
INSERT INTO requests_fts (requests_fts) VALUES ('rebuild');
CREATE TRIGGER requests_fts_insert AFTER INSERT ON requests BEGIN
  INSERT INTO requests_fts (rowid, prompt, draft, final) VALUES (new.rowid, new.prompt, new.draft, new.final);
END;
CREATE TRIGGER requests_fts_delete AFTER DELETE ON requests BEGIN
  INSERT INTO requests_fts (requests_fts, rowid, prompt, draft, final) VALUES ('delete', old.rowid, old.prompt, old.draft, old.final);
END;

ALTER TABLE reviews ADD COLUMN violation_time INTEGER;
UPDATE reviews SET violation_time = (SELECT v.time FROM violations v WHERE v.id = reviews.violation_id);
CREATE INDEX reviews_label_time ON reviews (label, violation_time DESC, violation_id DESC);
