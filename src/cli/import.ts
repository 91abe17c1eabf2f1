// `tenet import`: log records exported by `tenet export --kind requests` written into the log TENET_DB names
// (how a SQLite log moves to Postgres); `--reviews` adds the labels of a `--kind violations` export.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createPostgresStore } from '../adapters/postgres-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import { isPostgresUrl, parseNodeConfig, secretsOf } from '../core/config.ts';
import { UsageError } from '../core/errors.ts';
import { type RequestRecord, requestRecordSchema } from '../core/log-record.ts';
import type { LogStore, ViolationRow } from '../core/log-store.ts';
import { createRedactor } from '../core/redact.ts';
import { defineCommand, valueFlags } from './command.ts';

const batchSize = 500;

/** Each non-blank line of a JSON Lines file (`-`: standard input), parsed, with its line number. */
async function* jsonLines(file: string): AsyncGenerator<[unknown, number]> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    if (line.trim() === '') continue;
    try {
      yield [JSON.parse(line), n];
    } catch {
      throw new Error(`${file}:${n}: not JSON`);
    }
  }
}

async function importRecords(store: LogStore, file: string): Promise<number> {
  let batch: RequestRecord[] = [];
  let count = 0;
  const flush = async () => {
    await store.write(batch);
    count += batch.length;
    batch = [];
  };
  for await (const [value, line] of jsonLines(file)) {
    const parsed = requestRecordSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(`${file}:${line}: not a log record (export with --kind requests --format jsonl)`);
    }
    batch.push(parsed.data);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return count;
}

async function importReviews(store: LogStore, file: string): Promise<number> {
  let count = 0;
  for await (const [value] of jsonLines(file)) {
    const row = value as Partial<ViolationRow>;
    if (typeof row.id !== 'string' || !row.review) continue;
    if (await store.review(row.id, row.review.label, row.review.note ?? '', row.review.time)) count++;
  }
  return count;
}

export const importCommand = defineCommand({
  name: 'import',
  positionals: true,
  options: valueFlags('reviews'),
  run: importFile,
});

async function importFile(values: { reviews?: string | undefined }, [file]: string[]): Promise<number> {
  if (!file) throw new UsageError('name the export file (tenet export --kind requests --format jsonl)');
  const config = parseNodeConfig(process.env);
  const redact = createRedactor(secretsOf(config));
  let store: LogStore & { close(): void | Promise<void> };
  try {
    store = isPostgresUrl(config.db)
      ? await createPostgresStore(config.db, { poolSize: 2 })
      : createSqliteStore(config.db);
  } catch (err) {
    process.stderr.write(`tenet import: the log (TENET_DB) could not be opened: ${redact(String(err))}\n`);
    return 1;
  }
  try {
    // Writing a record that is already stored changes nothing: an import can be run again after a failure.
    const records = await importRecords(store, file);
    const reviews = values.reviews ? await importReviews(store, values.reviews) : 0;
    process.stderr.write(`tenet import: ${records} records, ${reviews} review labels\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`tenet import: ${redact((err as Error).message)}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
