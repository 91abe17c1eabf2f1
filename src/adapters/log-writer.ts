// Writes log records after the response, off the request path: batched, retried through store outages, bounded in memory.
import { builtRecord, type PendingRecord, type RequestRecord, recordWeight } from '../core/log-record.ts';
import type { LogStore } from '../core/log-store.ts';
import type { Logger } from '../core/logger.ts';

export interface LogWriterStats {
  /** False when TENET_LOG=off: nothing is recorded. */
  enabled: boolean;
  /** `degraded` while the store is failing (the last write attempt failed); `off` when TENET_LOG=off. */
  status: 'ok' | 'degraded' | 'off';
  written: number;
  /** Records waiting to be written (queued, or being retried). */
  pending: number;
  /** Records lost: given up after their retries, or dropped (oldest first) from a full queue. */
  failed: number;
  /** Failed write attempts that were tried again. */
  retries: number;
  lastError: string | null;
  /** When the current outage began (ISO time of its first failed write); null while writes succeed. */
  failingSince: string | null;
  /**
   * How records reach the store: `process` (Node's queue), `waitUntil` (Workers, each request's own), `queue`
   * (Workers with a Cloudflare Queue: the counters above are then the direct writes of records the queue refused),
   * `off` (TENET_LOG=off).
   */
  path: 'process' | 'waitUntil' | 'queue' | 'off';
  /** `queue` only: records handed to the queue, and sends it refused (those were written directly). */
  queued?: number;
  sendFailures?: number;
}

export interface LogWriter {
  /**
   * Takes a record, or one to build when it is written (PendingRecord); the promise settles (never rejects) once
   * it is written or counted as lost. A function of its own (no `this`): the exchange holds it, not the writer.
   */
  record(record: RequestRecord | PendingRecord): Promise<void>;
  /**
   * Writes what is queued now — the shutdown drain. While the store is down it keeps trying for at most
   * `flushTimeoutMs`, then counts what is left as lost, with one log line.
   */
  flush(): Promise<void>;
  stats(): LogWriterStats;
}

export interface LogWriterOptions {
  logger: Logger;
  /**
   * `process` (Node, one long-lived process): one queue for every request, written in batches and retried for as
   * long as the store is down. `request` (Workers): each record is written by its own call, inside its request's
   * waitUntil, retried for at most `giveUpAfterMs`, and never handed to another request.
   */
  scope?: 'process' | 'request';
  batchSize?: number;
  /** Caps the attempts per batch (the first try included); unset: no cap, time decides. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long records wait to be batched with others, at most: a full batch goes at once (0: the next turn). */
  lingerMs?: number;
  /** `process`: the bound of the queue (records, estimated bytes); past it the oldest are dropped as lost. */
  maxQueued?: number;
  maxQueuedBytes?: number;
  /** `process`: how long flush() keeps trying a failing store. */
  flushTimeoutMs?: number;
  /** `request`: no new attempt starts this long after the record came in. */
  giveUpAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Node's queue bound. 50,000 records cover a realistic outage (about 17 minutes at 50 requests/s), and
 * 64 MiB (estimated, see approxBytes) keeps memory bounded whatever the records' size: texts are clipped to
 * 32 KiB per field, so a record with many rounds can weigh ~1 MB and the count alone would bound nothing.
 */
export const maxQueuedRecords = 50_000;
export const maxQueuedBytes = 64 * 1024 * 1024;
/** Node's shutdown drain: well inside the usual stop grace periods (Docker 10 s, Kubernetes 30 s). */
export const flushTimeoutMs = 5_000;
/**
 * Workers end a waitUntil about 30 s after the response: a record's retries stop starting at 20 s, and an attempt
 * still running 5 s later is abandoned, so the loss is counted before the runtime cancels the work unseen.
 */
export const requestGiveUpMs = 20_000;
const attemptGraceMs = 5_000;

interface Entry {
  /** The record, or the one to build when its batch is written (then kept, for retries). */
  record: RequestRecord | PendingRecord;
  bytes: number;
  /** When it was queued (ms since the epoch): the linger counts from the oldest waiting record. */
  at: number;
  settle: () => void;
}

/** A record's estimated weight in memory: its texts (UTF-16) plus an allowance per object. */
function approxBytes(r: RequestRecord): number {
  let chars = (r.prompt?.length ?? 0) + (r.draft?.length ?? 0) + (r.final?.length ?? 0) + r.reason.length;
  let parts = 1;
  for (const stage of r.stages) {
    for (const round of stage.rounds) {
      chars += round.text?.length ?? 0;
      parts++;
    }
  }
  for (const v of r.violations) {
    chars += (v.evidence?.length ?? 0) + v.critique.length;
    parts++;
  }
  return recordWeight(chars, parts);
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/**
 * The record to store: `record` itself, or a pending one built now. Undefined when building it failed (a bug):
 * then it is lost, and logged here; the caller counts it.
 */
export function recordToStore(
  record: RequestRecord | PendingRecord,
  logger: Logger,
): RequestRecord | undefined {
  try {
    return builtRecord(record);
  } catch (err) {
    logger.error('building a log record failed; record lost', {
      request_id: record.id,
      error: messageOf(err),
    });
    return undefined;
  }
}

export function createLogWriter(store: LogStore, options: LogWriterOptions): LogWriter {
  const { logger } = options;
  const batchSize = options.batchSize ?? 50;
  const baseDelay = options.baseDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const maxRecords = options.maxQueued ?? maxQueuedRecords;
  const maxBytes = options.maxQueuedBytes ?? maxQueuedBytes;
  // A backoff wait that flush() can cut short (the injected sleep of tests cannot be, and needs not).
  let wake: (() => void) | undefined;
  const sleep =
    options.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
      }));
  const stats: Omit<LogWriterStats, 'enabled' | 'status' | 'path'> = { ...noRecordsYet };
  /** Lost during the current outage, for the line that reports its end. */
  let lostInOutage = 0;

  /** Capped exponential backoff with jitter, so many isolates or processes do not retry in step. */
  const backoff = (failures: number) => {
    const delay = Math.min(maxDelay, baseDelay * 2 ** Math.min(failures - 1, 30));
    return delay / 2 + Math.random() * (delay / 2);
  };
  const failedOnce = (err: unknown) => {
    stats.lastError = messageOf(err);
    if (stats.failingSince) return;
    stats.failingSince = new Date().toISOString();
    logger.warn('log store write failed; records are kept and retried', {
      error: stats.lastError,
      pending: stats.pending,
    });
  };
  const succeeded = (count: number) => {
    stats.written += count;
    if (!stats.failingSince) return;
    logger.info('log store writes again', {
      failing_since: stats.failingSince,
      lost: lostInOutage,
      pending: stats.pending,
    });
    stats.failingSince = null;
    lostInOutage = 0;
  };
  const lose = (count: number) => {
    stats.failed += count;
    lostInOutage += count;
  };

  const snapshot = (): LogWriterStats => ({
    enabled: true,
    status: stats.failingSince ? 'degraded' : 'ok',
    path: options.scope === 'request' ? 'waitUntil' : 'process',
    ...stats,
  });

  if (options.scope === 'request') {
    const giveUpAfter = options.giveUpAfterMs ?? requestGiveUpMs;
    const inFlight = new Set<Promise<void>>();
    const attemptWithin = async (records: RequestRecord[], ms: number) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`log store write still running after ${ms} ms`)), ms);
      });
      try {
        await Promise.race([store.write(records), timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    const writeOwn = async (record: RequestRecord) => {
      const deadline = Date.now() + giveUpAfter;
      for (let attempt = 1; ; attempt++) {
        try {
          // Idempotent (INSERT OR IGNORE by id): a retry after a write that did land writes nothing twice.
          await attemptWithin([record], Math.max(0, deadline - Date.now()) + attemptGraceMs);
          stats.pending--;
          succeeded(1);
          return;
        } catch (err) {
          failedOnce(err);
          const left = deadline - Date.now();
          if (left <= 0 || (options.attempts !== undefined && attempt >= options.attempts)) {
            stats.pending--;
            lose(1);
            logger.error('log store write failed; record lost', {
              request_id: record.id,
              attempts: attempt,
              error: stats.lastError,
            });
            return;
          }
          stats.retries++;
          await sleep(Math.min(backoff(attempt), left));
        }
      }
    };
    return {
      record(source) {
        const record = recordToStore(source, logger);
        if (!record) {
          lose(1);
          return Promise.resolve();
        }
        stats.pending++;
        const work = writeOwn(record).finally(() => inFlight.delete(work));
        inFlight.add(work);
        return work;
      },
      flush: async () => {
        await Promise.allSettled([...inFlight]);
      },
      stats: snapshot,
    };
  }

  const lingerMs = options.lingerMs ?? 0;
  const flushTimeout = options.flushTimeoutMs ?? flushTimeoutMs;
  /** Oldest first. A batch being written leaves it, and goes back to its head if the write fails. */
  const queue: Entry[] = [];
  let queuedBytes = 0;
  let writing: Entry[] = [];
  let overflowing = false;
  /** Set by flush(): past it, what is left is given up. */
  let deadline: number | undefined;
  let running: Promise<void> | undefined;

  const drop = (entries: Entry[]) => {
    for (const e of entries) {
      queuedBytes -= e.bytes;
      e.settle();
    }
    stats.pending -= entries.length;
    lose(entries.length);
  };

  /** Past the bound, the oldest waiting records go, counted as lost (the batch being written stays). */
  const trim = () => {
    let dropped = 0;
    while (queue.length > 0 && (stats.pending > maxRecords || queuedBytes > maxBytes)) {
      drop([queue.shift() as Entry]);
      dropped++;
    }
    if (dropped > 0 && !overflowing) {
      overflowing = true;
      logger.error('log queue full while the store is down; dropping the oldest records', {
        max_records: maxRecords,
        max_bytes: maxBytes,
      });
    }
  };

  /** True while a batch gathers (the linger): a full batch ends it early. */
  let lingering = false;

  const run = async () => {
    let failures = 0;
    while (queue.length > 0) {
      // Records gather until a batch is full or the oldest of them has waited lingerMs: one transaction for many
      // records at any rate. That holds for the records that came in while the last batch was written too:
      // written at once, they went as a chain of small transactions, each paying the same index, search-index
      // and commit pages as a full one (at 1,000 answers/s, ~6 page writes per record instead of ~3).
      const wait =
        lingerMs && queue.length < batchSize && deadline === undefined
          ? (queue[0]?.at ?? 0) + lingerMs - Date.now()
          : 0;
      if (wait > 0) {
        lingering = true;
        try {
          await sleep(wait);
        } finally {
          lingering = false;
        }
        continue;
      }
      writing = queue.splice(0, batchSize);
      const records = built(writing);
      try {
        // Idempotent (INSERT OR IGNORE by id): a retry after a write that did land writes nothing twice.
        await store.write(records);
      } catch (err) {
        queue.unshift(...writing);
        writing = [];
        failures++;
        failedOnce(err);
        const timedOut = deadline !== undefined && Date.now() >= deadline;
        if (timedOut || (options.attempts !== undefined && failures >= options.attempts)) {
          const lost = timedOut ? queue.splice(0) : queue.splice(0, batchSize);
          drop(lost);
          logger.error(
            timedOut
              ? 'log store still failing at shutdown; records lost'
              : 'log store write failed; records lost',
            { records: lost.length, attempts: failures, error: stats.lastError },
          );
          failures = 0;
          continue;
        }
        stats.retries++;
        const delay = backoff(failures);
        // At shutdown, retry often until the deadline rather than sleep through it.
        await sleep(
          deadline === undefined ? delay : Math.max(0, Math.min(delay, 250, deadline - Date.now())),
        );
        continue;
      }
      const done = writing;
      writing = [];
      for (const e of done) {
        queuedBytes -= e.bytes;
        e.settle();
      }
      stats.pending -= done.length;
      failures = 0;
      overflowing = false;
      succeeded(done.length);
      // Writing a backlog: let requests in between batches (SQLite writes block the event loop); not at shutdown.
      if (queue.length > 0 && deadline === undefined) await sleep(0);
    }
  };

  /** The batch's records, pending ones built now, together; an entry whose record cannot be built is lost. */
  const built = (entries: Entry[]): RequestRecord[] => {
    const records: RequestRecord[] = [];
    for (let i = 0; i < entries.length; ) {
      const entry = entries[i] as Entry;
      const record = recordToStore(entry.record, logger);
      if (record) {
        entry.record = record;
        records.push(record);
        i++;
      } else {
        entries.splice(i, 1);
        drop([entry]);
      }
    }
    return records;
  };

  const start = (): Promise<void> => {
    if (!running) {
      running = run().finally(() => {
        running = undefined;
        // A record that came in as the loop ended.
        if (queue.length > 0) void start();
      });
    }
    return running;
  };

  return {
    record(record) {
      return new Promise<void>((settle) => {
        const bytes = 'build' in record ? record.bytes : approxBytes(record);
        queue.push({ record, bytes, at: Date.now(), settle });
        queuedBytes += bytes;
        stats.pending++;
        trim();
        void start();
        if (lingering && queue.length >= batchSize) wake?.();
      });
    },
    async flush() {
      deadline ??= Date.now() + flushTimeout;
      wake?.();
      try {
        while (queue.length > 0 || running) await start();
      } finally {
        deadline = undefined;
      }
    },
    stats: snapshot,
  };
}

/** The counters of a writer that has written nothing yet. */
const noRecordsYet: Omit<LogWriterStats, 'enabled' | 'status' | 'path'> = {
  written: 0,
  pending: 0,
  failed: 0,
  retries: 0,
  lastError: null,
  failingSince: null,
};

/** TENET_LOG=off: records are dropped on purpose, and /health says the log is off. */
export function disabledLogWriter(): LogWriter {
  const stats: LogWriterStats = { enabled: false, status: 'off', path: 'off', ...noRecordsYet };
  return { record: async () => {}, flush: async () => {}, stats: () => ({ ...stats }) };
}
