// `tenet logs | stats | export`: the violation log of a running Tenet, read through its admin API.

import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../core/errors.ts';
import { logFilterParams } from '../core/log-filter.ts';
import type { Page, Stats, ViolationRow } from '../core/log-store.ts';
import { type AdminClient, adminClientFrom, adminTargetOptions } from './admin-client.ts';
import { countFlag, defineCommand, switchFlags, valueFlags } from './command.ts';
import { renderStats, renderViolations } from './log-tables.ts';

type Query = Record<string, string | number | undefined>;

type Kebab<S extends string> = S extends `${infer A}_${infer B}` ? `${A}-${Kebab<B>}` : S;
const kebab = <S extends string>(name: S) => name.replaceAll('_', '-') as Kebab<S>;

/**
 * The log filter's flags, shared by `logs`, `stats`, `export` and `replay`: the admin API's filter parameters
 * (core/log-filter.ts, which validates them), kebab-case, and `--since` (a duration or date for `from`).
 */
export const logFilterOptions = valueFlags(...logFilterParams.map(kebab), 'since');

const common = { ...adminTargetOptions, ...logFilterOptions, json: { type: 'boolean' } } as const;

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since 90m` (s, m, h, d, w) or a date: the start of the time range, in ms. */
export function sinceToMs(since: string, now: number): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(since.trim());
  if (match) return Math.round(now - Number(match[1]) * (units[match[2] ?? 's'] ?? 1_000));
  const at = Date.parse(since);
  if (Number.isNaN(at))
    throw new UsageError(`--since: expected a duration like 30m, 1h, 2d or a date (got "${since}")`);
  return at;
}

/** The filter flags as the admin API's query parameters (`--since` as `from`). */
export function filterQuery(values: Record<string, string | boolean | undefined>, now: number): Query {
  const query: Query = {};
  for (const param of logFilterParams) {
    const value = values[kebab(param)];
    query[param] = typeof value === 'string' ? value : undefined;
  }
  const since = values['since'];
  if (typeof since === 'string') query['from'] = sinceToMs(since, now);
  return query;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** How far back each poll of `--follow` looks again: records are written after their response, a little late. */
const followOverlapMs = 120_000;

/** Every violation matching `query` on every page (newest first). */
async function allPages(client: AdminClient, query: Query): Promise<ViolationRow[]> {
  const rows: ViolationRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.get<Page<ViolationRow>>('/violations', { ...query, limit: 500, cursor });
    rows.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor);
  return rows;
}

export const logsCommand = defineCommand({
  name: 'logs',
  options: { ...common, ...valueFlags('limit'), ...switchFlags('follow') },
  async run(values) {
    const limit = countFlag('limit', values.limit, 20, 500);
    const client = adminClientFrom(values);
    const query = filterQuery(values, Date.now());
    const print = (rows: ViolationRow[], header: boolean) =>
      process.stdout.write(
        values.json
          ? rows.map((r) => `${JSON.stringify(r)}\n`).join('')
          : renderViolations(rows, { header, width: process.stdout.columns }),
      );

    // Newest page, shown oldest first like a tail.
    const first = await client.get<Page<ViolationRow>>('/violations', { ...query, limit });
    const shown = first.items.toReversed();
    if (!values.follow) {
      if (shown.length === 0 && !values.json) process.stderr.write('no violations match\n');
      else print(shown, true);
      return 0;
    }

    print(shown, true);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const seen = new Map(shown.map((r) => [r.id, r.time]));
      let latest = Math.max(Date.now(), ...shown.map((r) => r.time));
      while (!stop.signal.aborted) {
        await sleep(2_000, stop.signal);
        if (stop.signal.aborted) break;
        const from = latest - followOverlapMs;
        const fresh = (await allPages(client, { ...query, from }))
          .filter((r) => !seen.has(r.id))
          .toReversed();
        if (fresh.length > 0) print(fresh, false);
        for (const r of fresh) {
          seen.set(r.id, r.time);
          latest = Math.max(latest, r.time);
        }
        for (const [id, t] of seen) if (t < from) seen.delete(id);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
});

export const statsCommand = defineCommand({
  name: 'stats',
  options: { ...common, ...valueFlags('bucket') },
  async run(values) {
    const client = adminClientFrom(values);
    const stats = await client.get<Stats>('/stats', {
      ...filterQuery(values, Date.now()),
      bucket: values.bucket,
    });
    process.stdout.write(
      values.json ? `${JSON.stringify(stats, null, 2)}\n` : renderStats(stats, values.bucket ?? 'day'),
    );
    return 0;
  },
});

export const exportCommand = defineCommand({
  name: 'export',
  options: { ...common, ...valueFlags('format', 'kind', 'out') },
  async run(values) {
    const client = adminClientFrom(values);
    const res = await client.stream('/export', {
      ...filterQuery(values, Date.now()),
      format: values.format ?? 'jsonl',
      kind: values.kind,
    });
    if (!res.body) return 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    if (values.out) {
      await pipeline(body, createWriteStream(values.out));
      process.stderr.write(`tenet export: wrote ${values.out}\n`);
    } else {
      // stdout is not ended: other output (none here) could follow, and Node keeps it open anyway.
      await pipeline(body, process.stdout as Writable, { end: false });
    }
    return 0;
  },
});
