-- The admin side's own state, shared by every isolate (D1) or process (SQLite): dashboard sessions, so that
-- signing out ends one for good, and failed admin sign-ins per client address, so that guessing the token is
-- throttled (the Workers runtime; Node counts in memory).
CREATE TABLE admin_sessions (
  id TEXT PRIMARY KEY,
  expires INTEGER NOT NULL
);
CREATE TABLE admin_auth_failures (
  address TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  failures INTEGER NOT NULL
);
