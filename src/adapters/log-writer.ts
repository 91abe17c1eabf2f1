// Writes log records after the response: batched, retried with backoff, counted when given up — never in the way.
import type { RequestRecord } from '../core/log-record.ts';
import type { LogStore } from '../core/log-store.ts';
import type { Logger } from '../core/logger.ts';

export interface LogWriterStats {
  /** False when TENET_LOG=off: nothing is recorded. */
  enabled: boolean;
  written: number;
  pending: number;
  /** Records given up after every retry: lost, and shown on /health. */
  failed: number;
  retries: number;
  lastError: string | null;
}

export interface LogWriter {
  /** Queues a record; the promise settles (never rejects) once its batch is written or given up. */
  record(record: RequestRecord): Promise<void>;
  /** Writes everything queued now. */
  flush(): Promise<void>;
  stats(): LogWriterStats;
}

export interface LogWriterOptions {
  logger: Logger;
  batchSize?: number;
  /** Attempts per batch (the first try included). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long records wait to be batched with others (0: write at the next turn). */
  lingerMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function createLogWriter(store: LogStore, options: LogWriterOptions): LogWriter {
  const batchSize = options.batchSize ?? 50;
  const attempts = options.attempts ?? 6;
  const baseDelay = options.baseDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const queue: RequestRecord[] = [];
  const stats: LogWriterStats = {
    enabled: true,
    written: 0,
    pending: 0,
    failed: 0,
    retries: 0,
    lastError: null,
  };
  let draining: Promise<void> | undefined;

  const writeBatch = async (batch: RequestRecord[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        // Idempotent (INSERT OR IGNORE by id): a retry after a write that did land writes nothing twice.
        await store.write(batch);
        stats.written += batch.length;
        return;
      } catch (err) {
        stats.lastError = err instanceof Error ? err.message : String(err);
        if (attempt >= attempts) {
          stats.failed += batch.length;
          options.logger.error('log store write failed; records dropped', {
            records: batch.length,
            attempts,
            error: stats.lastError,
          });
          return;
        }
        stats.retries++;
        // Exponential backoff with jitter, so many isolates do not retry in step.
        const delay = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  };

  const drain = async () => {
    if (options.lingerMs) await sleep(options.lingerMs);
    while (queue.length > 0) {
      const batch = queue.splice(0, batchSize);
      stats.pending = queue.length + batch.length;
      await writeBatch(batch);
      stats.pending = queue.length;
    }
  };

  const flush = (): Promise<void> => {
    if (!draining) {
      draining = drain().finally(() => {
        draining = undefined;
        if (queue.length > 0) void flush();
      });
    }
    return draining;
  };

  return {
    record(record) {
      queue.push(record);
      stats.pending = queue.length;
      // A record queued while a drain runs is picked up by that drain's loop.
      return draining ? draining.then(() => (queue.length > 0 ? flush() : undefined)) : flush();
    },
    flush,
    stats: () => ({ ...stats }),
  };
}

/** TENET_LOG=off: records are dropped on purpose, and /health says the log is off. */
export function disabledLogWriter(): LogWriter {
  const stats: LogWriterStats = {
    enabled: false,
    written: 0,
    pending: 0,
    failed: 0,
    retries: 0,
    lastError: null,
  };
  return { record: async () => {}, flush: async () => {}, stats: () => ({ ...stats }) };
}
