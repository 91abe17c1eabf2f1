// Workers with a Cloudflare Queue: records are sent to the queue after the response, and the queue's consumer writes
// them to D1 in batches, retried with backoff and then dead-lettered, so a D1 outage longer than a request's
// waitUntil (about 20 s of retries) loses nothing.
import { requestRecordSchema } from '../core/log-record.ts';
import type { LogStore } from '../core/log-store.ts';
import type { Logger } from '../core/logger.ts';
import { type LogWriter, type LogWriterStats, recordToStore } from './log-writer.ts';

/** The producer's side of the queue (a `Queue` binding; structurally, so tests and other runtimes can give one). */
export interface LogQueue {
  send(body: unknown, options?: { contentType?: 'json' }): Promise<unknown>;
}

/**
 * A writer that hands each record to the queue. A record the queue refuses (unavailable, or over its 128 KB
 * message limit) is written by `direct` instead, the request's own waitUntil path.
 */
export function createQueueLogWriter(queue: LogQueue, direct: LogWriter, logger: Logger): LogWriter {
  let queued = 0;
  let sendFailures = 0;
  return {
    async record(source) {
      const record = recordToStore(source, logger);
      if (!record) return;
      try {
        await queue.send(record, { contentType: 'json' });
        queued++;
      } catch (err) {
        sendFailures++;
        logger.warn('log queue send failed; writing the record directly', {
          request_id: record.id,
          error: err instanceof Error ? err.message : String(err),
        });
        await direct.record(record);
      }
    },
    flush: () => direct.flush(),
    stats: (): LogWriterStats => ({ ...direct.stats(), path: 'queue', queued, sendFailures }),
  };
}

/** The consumer's view of a batch (a `MessageBatch`). */
export interface LogBatch {
  readonly messages: ReadonlyArray<{ readonly body: unknown; readonly attempts: number; ack(): void }>;
  ackAll(): void;
  retryAll(options?: { delaySeconds?: number }): void;
}

/** Backoff between deliveries of a batch D1 refused: 5 s doubling, at most 5 minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));

/**
 * Writes a batch of queued records in one store write. On failure every message is retried after a backoff
 * (after the queue's max_retries it goes to the dead-letter queue); the write is idempotent by record id, so a
 * redelivered record is never stored twice. A message that is not a log record is acknowledged and reported.
 */
export async function consumeLogBatch(batch: LogBatch, store: LogStore, logger: Logger): Promise<void> {
  const records = [];
  for (const message of batch.messages) {
    const parsed = requestRecordSchema.safeParse(message.body);
    if (parsed.success) records.push(parsed.data);
    else {
      logger.error('log queue message is not a log record; dropped', { issues: parsed.error.issues.length });
      message.ack();
    }
  }
  try {
    await store.write(records);
    batch.ackAll();
  } catch (err) {
    const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
    const delaySeconds = retryDelaySeconds(attempts);
    logger.warn('log store write from the queue failed; the batch is retried', {
      records: records.length,
      attempts,
      retry_in_s: delaySeconds,
      error: err instanceof Error ? err.message : String(err),
    });
    batch.retryAll({ delaySeconds });
  }
}
