-- Where a violation's evidence is in the judged answer: its part (`text`, or `tool_call:N` for the N-th tool call)
-- and the character offset in that part, so the dashboard marks the quote the critic meant, not its first
-- occurrence. NULL for violations recorded before this migration (and for length checks, which quote nothing).
ALTER TABLE violations ADD COLUMN evidence_part TEXT;
ALTER TABLE violations ADD COLUMN evidence_start INTEGER;
