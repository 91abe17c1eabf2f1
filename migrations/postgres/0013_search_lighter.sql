-- The same number as migrations/0013_search_lighter.sql, which makes SQLite's and D1's FTS5 search indexes lighter
-- to write. Postgres searches through pg_trgm's GIN indexes (0012): nothing changes here.
SELECT 1;
