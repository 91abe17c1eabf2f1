-- Latency percentiles read in index order (stats over a whole log), instead of sorting every request.
CREATE INDEX requests_latency ON requests (latency_ms);
