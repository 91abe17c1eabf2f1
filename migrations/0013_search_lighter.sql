-- Lighter search indexes: the same search (`q`, a case-insensitive substring, confirmed by LIKE), written at a
-- fraction of 0012's cost per logged request.
-- - detail='none', columnsize=0: the indexes keep which rows hold each trigram, not where. A search asks for rows
--   holding all of the term's trigrams (sql-store.ts) and LIKE confirms each candidate, as before; positions and
--   per-row sizes were only ever written, never read.
-- - A request's final answer is indexed only when it differs from its draft (it usually is the draft): a search
--   finds that text through the draft. The delete trigger passes exactly the values that were indexed.
-- Existing rows are indexed again here, the same way (0012's indexes are dropped).

DROP TRIGGER violations_fts_insert;
DROP TRIGGER violations_fts_delete;
DROP TABLE violations_fts;
CREATE VIRTUAL TABLE violations_fts USING fts5(evidence, critique, content='violations', tokenize='trigram',
  detail='none', columnsize=0);
INSERT INTO violations_fts (violations_fts) VALUES ('rebuild');
CREATE TRIGGER violations_fts_insert AFTER INSERT ON violations BEGIN
  INSERT INTO violations_fts (rowid, evidence, critique) VALUES (new.rowid, new.evidence, new.critique);
END;
CREATE TRIGGER violations_fts_delete AFTER DELETE ON violations BEGIN
  INSERT INTO violations_fts (violations_fts, rowid, evidence, critique) VALUES ('delete', old.rowid, old.evidence, old.critique);
END;

DROP TRIGGER requests_fts_insert;
DROP TRIGGER requests_fts_delete;
DROP TABLE requests_fts;
CREATE VIRTUAL TABLE requests_fts USING fts5(prompt, draft, final, content='requests', tokenize='trigram',
  detail='none', columnsize=0);
INSERT INTO requests_fts (rowid, prompt, draft, final)
  SELECT rowid, prompt, draft, CASE WHEN final IS draft THEN NULL ELSE final END FROM requests;
CREATE TRIGGER requests_fts_insert AFTER INSERT ON requests BEGIN
  INSERT INTO requests_fts (rowid, prompt, draft, final)
    VALUES (new.rowid, new.prompt, new.draft, CASE WHEN new.final IS new.draft THEN NULL ELSE new.final END);
END;
CREATE TRIGGER requests_fts_delete AFTER DELETE ON requests BEGIN
  INSERT INTO requests_fts (requests_fts, rowid, prompt, draft, final)
    VALUES ('delete', old.rowid, old.prompt, old.draft, CASE WHEN old.final IS old.draft THEN NULL ELSE old.final END);
END;
