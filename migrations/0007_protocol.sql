-- Every generation API is guarded: each request keeps the client-facing protocol it came in on
-- (chat | responses | completions | messages); records older than this were all chat completions.
ALTER TABLE requests ADD COLUMN protocol TEXT NOT NULL DEFAULT 'chat';
CREATE INDEX requests_protocol ON requests (protocol, time DESC);
