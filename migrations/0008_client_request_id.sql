-- A client's own request id (`x-client-request-id`, or `x-tenet-request-id` on the request) is kept apart from the
-- record's id, which is always Tenet's: a client can tag its requests but never choose, reuse or hide a record.
ALTER TABLE requests ADD COLUMN client_request_id TEXT;
CREATE INDEX requests_client_request_id ON requests (client_request_id, time DESC);
