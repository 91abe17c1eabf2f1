// Admin sessions (revocable) and failed-sign-in counts per address: in the log's SQL database, or in memory.
import type { SqlDb } from './sql-store.ts';

/** Dashboard sessions by id: a signed cookie is only good while its session is open. */
export interface AdminSessions {
  open(id: string, expires: number): Promise<void>;
  isOpen(id: string, now: number): Promise<boolean>;
  close(id: string): Promise<void>;
}

/** Failed admin sign-ins per client address, in fixed windows. */
export interface AuthThrottle {
  /** Seconds until `address` may try again (0: now). */
  wait(address: string, now: number): Promise<number>;
  /** Counts a failed attempt of `address`. */
  failed(address: string, now: number): Promise<void>;
}

export interface ThrottleLimits {
  /** Failures allowed per window (0 = no limit). */
  failures: number;
  windowMs: number;
}

export function createSqlAdminSessions(db: SqlDb): AdminSessions {
  return {
    async open(id, expires) {
      await db.batch([
        // Expired sessions are dropped as new ones open: the table stays as small as the live sessions.
        { sql: 'DELETE FROM admin_sessions WHERE expires <= ?', params: [Date.now()] },
        { sql: 'INSERT INTO admin_sessions (id, expires) VALUES (?, ?)', params: [id, expires] },
      ]);
    },
    async isOpen(id, now) {
      const rows = await db.all('SELECT 1 AS open FROM admin_sessions WHERE id = ? AND expires > ?', [
        id,
        now,
      ]);
      return rows.length > 0;
    },
    async close(id) {
      await db.batch([{ sql: 'DELETE FROM admin_sessions WHERE id = ?', params: [id] }]);
    },
  };
}

const secondsLeft = (start: number, windowMs: number, now: number) =>
  Math.max(1, Math.ceil((start + windowMs - now) / 1000));

/** A throttle every isolate shares (D1 on Workers): one row per address that failed in the current window. */
export function createSqlAuthThrottle(db: SqlDb, limits: ThrottleLimits): AuthThrottle {
  return {
    async wait(address, now) {
      if (limits.failures === 0) return 0;
      const [row] = await db.all<{ window_start: number; failures: number }>(
        'SELECT window_start, failures FROM admin_auth_failures WHERE address = ?',
        [address],
      );
      if (!row || row.window_start + limits.windowMs <= now || row.failures < limits.failures) return 0;
      return secondsLeft(row.window_start, limits.windowMs, now);
    },
    async failed(address, now) {
      if (limits.failures === 0) return;
      const expired = now - limits.windowMs;
      await db.batch([
        {
          sql: 'DELETE FROM admin_auth_failures WHERE window_start <= ? AND address <> ?',
          params: [expired, address],
        },
        {
          // A new window starts at the first failure after the last one ended (SET reads the row's old values).
          sql:
            'INSERT INTO admin_auth_failures (address, window_start, failures) VALUES (?, ?, 1) ' +
            'ON CONFLICT (address) DO UPDATE SET ' +
            'failures = CASE WHEN window_start <= ? THEN 1 ELSE failures + 1 END, ' +
            'window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END',
          params: [address, now, expired, expired],
        },
      ]);
    },
  };
}

/** One process's throttle (Node): a map of the addresses that failed lately, bounded. */
export function createMemoryAuthThrottle(limits: ThrottleLimits): AuthThrottle {
  const counts = new Map<string, { start: number; failures: number }>();
  return {
    async wait(address, now) {
      const entry = counts.get(address);
      if (limits.failures === 0 || !entry || entry.start + limits.windowMs <= now) return 0;
      return entry.failures < limits.failures ? 0 : secondsLeft(entry.start, limits.windowMs, now);
    },
    async failed(address, now) {
      if (limits.failures === 0) return;
      const entry = counts.get(address);
      if (entry && entry.start + limits.windowMs > now) {
        entry.failures += 1;
        return;
      }
      if (counts.size >= 100_000) {
        for (const [key, e] of counts) if (e.start + limits.windowMs <= now) counts.delete(key);
        // Still full of live windows (a flood from many addresses): the oldest go first.
        for (const key of counts.keys()) {
          if (counts.size < 100_000) break;
          counts.delete(key);
        }
      }
      counts.set(address, { start: now, failures: 1 });
    },
  };
}
