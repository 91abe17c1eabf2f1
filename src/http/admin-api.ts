// The admin API (/admin/api): the violation log as JSON — listings, one request in full, reviews, stats, exports, test runs.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { severities } from '../core/constitution/schema.ts';
import { diffTexts } from '../core/diff.ts';
import { TenetError } from '../core/errors.ts';
import { protocolIds } from '../core/exchange/protocol.ts';
import { verdicts } from '../core/log-record.ts';
import type { LogFilter } from '../core/log-store.ts';
import { type TestRun, testRunBody } from '../core/quality/test-run.ts';
import { exportHeaders, exportStream } from './admin-export.ts';
import type { AppEnv } from './app-env.ts';

/** A time as ms since the epoch or an ISO 8601 date (`2025-01-31`, `2025-01-31T12:00:00Z`). */
const time = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const ms = /^\d+$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date or milliseconds since the epoch' });
      return z.NEVER;
    }
    return ms;
  });

const text = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');

const filterShape = {
  principle: text.optional(),
  severity: z.enum(severities).optional(),
  constitution: text.optional(),
  version: text.optional(),
  verdict: z.enum(verdicts).optional(),
  protocol: z.enum(protocolIds).optional(),
  model: text.optional(),
  /** The client's own request id (`x-client-request-id`). */
  client_request_id: text.optional(),
  from: time.optional(),
  to: time.optional(),
  q: text.optional(),
  shadow: z.enum(['judged', 'agree', 'disagree']).optional(),
};

const review = z.enum(['confirmed', 'false_positive', 'unreviewed']).optional();

const pageShape = {
  cursor: z.string().max(1000).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500'))
    .optional(),
};

const requestsQuery = z.strictObject({ ...filterShape, ...pageShape });
const violationsQuery = z.strictObject({ ...filterShape, review, ...pageShape });
const statsQuery = z.strictObject({ ...filterShape, review, bucket: z.enum(['hour', 'day']).optional() });
const exportQuery = z.strictObject({
  ...filterShape,
  review,
  format: z.enum(['jsonl', 'csv', 'pairs']).default('jsonl'),
  kind: z.enum(['requests', 'violations']).default('violations'),
});

const testRunsQuery = z.strictObject({
  constitution: text.optional(),
  version: text.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
    .optional(),
});

/** A test run's report is a few KB per example: 8 MiB holds thousands of examples with their critiques. */
export const maxTestRunBytes = 8 * 1024 * 1024;

const reviewBody = z.strictObject({
  label: z.enum(['confirmed', 'false_positive']),
  note: z.string().max(4000, 'must be at most 4000 characters').default(''),
});

/** Parses with `schema`, or throws a 400 that names the offending parameter. */
function parse<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  // The whole path, as `principles[0].results[1].expected`: a nested mistake is found without guessing.
  const path = (issue?.path ?? [])
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i > 0 ? '.' : ''}${String(k)}`))
    .join('');
  const param = keys[0] ?? (path === '' ? null : path);
  const message =
    keys.length > 0
      ? `Unknown ${where} ${keys.map((k) => `"${k}"`).join(', ')}.`
      : `Invalid ${where} "${param ?? ''}": ${issue?.message ?? 'invalid'}.`;
  throw new TenetError('invalid_request', message, { param });
}

/** Drops the keys whose value is undefined (exactOptionalPropertyTypes: the store's filters have none). */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

/** The query's snake_case filter names as the store's. */
function filterOf<T extends { client_request_id?: string | undefined }>({ client_request_id, ...rest }: T) {
  return defined({ ...rest, clientRequestId: client_request_id });
}

/** The store rejects a cursor it did not make with a RangeError: a client error, not a fault. */
async function withCursor<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RangeError) {
      throw new TenetError(
        'invalid_request',
        'Invalid query parameter "cursor": not a cursor from this API.',
        {
          param: 'cursor',
        },
      );
    }
    throw err;
  }
}

/** A constitution version: how much it was used (from the log) and whether it is the one loaded now. */
export interface ConstitutionInUse {
  name: string;
  hash: string;
  requests: number;
  first: number | null;
  last: number | null;
  loaded: boolean;
}

export function adminApi(): Hono<AppEnv> {
  const api = new Hono<AppEnv>();

  api.use(async (c, next) => {
    await next();
    // Log contents are private: never kept by a browser or a shared cache.
    c.header('cache-control', 'no-store');
  });

  api.get('/violations', async (c) => {
    const query = filterOf(parse(violationsQuery, c.req.query(), 'query parameter'));
    return c.json(await withCursor(() => c.var.deps.logStore.listViolations(query)));
  });

  api.get('/requests', async (c) => {
    const query = filterOf(parse(requestsQuery, c.req.query(), 'query parameter'));
    return c.json(await withCursor(() => c.var.deps.logStore.listRequests(query)));
  });

  api.get('/requests/:id', async (c) => {
    const id = c.req.param('id');
    const detail = await c.var.deps.logStore.getRequest(id);
    if (!detail) throw new TenetError('not_found', `No logged request with id "${id}".`, { param: 'id' });
    const { draft, final } = detail.record;
    return c.json({
      request: detail.row,
      record: detail.record,
      violations: detail.violations,
      // The first choice, from the upstream's draft to the answer that went out (null when texts were not logged).
      diff: draft !== null && final !== null ? diffTexts(draft, final) : null,
    });
  });

  api.post('/violations/:id/review', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new TenetError('invalid_json', 'The request body is not valid JSON.');
    }
    const { label, note } = parse(reviewBody, body, 'field');
    const id = c.req.param('id');
    if (!(await c.var.deps.logStore.review(id, label, note.trim()))) {
      throw new TenetError('not_found', `No violation with id "${id}".`, { param: 'id' });
    }
    return c.json({ ok: true });
  });

  api.get('/stats', async (c) => {
    const query = filterOf(parse(statsQuery, c.req.query(), 'query parameter'));
    return c.json(await c.var.deps.logStore.stats(query));
  });

  api.get('/export', (c) => {
    const { format, kind, ...rest } = parse(exportQuery, c.req.query(), 'query parameter');
    const filter: LogFilter = filterOf(rest);
    const stream = exportStream(c.var.deps.logStore, format, kind, filter);
    return c.body(stream, 200, exportHeaders(format, kind, Date.now()));
  });

  api.get('/constitutions', async (c) => {
    const { constitutions, logStore } = c.var.deps;
    const used = await logStore.constitutions();
    const loaded = new Map<string, string>();
    for (const name of constitutions.names()) {
      const hash = constitutions.get(name)?.hash;
      if (hash) loaded.set(name, hash);
    }
    const items: ConstitutionInUse[] = used.map((u) => ({ ...u, loaded: loaded.get(u.name) === u.hash }));
    // A loaded version nothing has used yet is listed too: the reviewer sees what is in force.
    for (const [name, hash] of loaded) {
      if (!used.some((u) => u.name === name && u.hash === hash)) {
        items.push({ name, hash, requests: 0, first: null, last: null, loaded: true });
      }
    }
    items.sort((a, b) => a.name.localeCompare(b.name) || (b.last ?? 0) - (a.last ?? 0));
    return c.json({ items });
  });

  api.post(
    '/test-runs',
    bodyLimit({
      maxSize: maxTestRunBytes,
      onError: () => {
        throw new TenetError(
          'request_too_large',
          `A test run may be at most ${maxTestRunBytes} bytes: post one constitution at a time.`,
        );
      },
    }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new TenetError('invalid_json', 'The request body is not valid JSON.');
      }
      const posted = parse(testRunBody, body, 'field');
      const run: TestRun = {
        ...posted,
        id: crypto.randomUUID(),
        time: Date.now(),
        ok: posted.totals.failed === 0,
      };
      await c.var.deps.logStore.writeTestRun(run);
      return c.json({ id: run.id, version: run.version, ok: run.ok }, 201);
    },
  );

  api.get('/test-runs', async (c) => {
    const query = defined(parse(testRunsQuery, c.req.query(), 'query parameter'));
    return c.json({ items: await c.var.deps.logStore.listTestRuns(query) });
  });

  api.get('/test-runs/:id', async (c) => {
    const id = c.req.param('id');
    const run = await c.var.deps.logStore.getTestRun(id);
    if (!run) throw new TenetError('not_found', `No test run with id "${id}".`, { param: 'id' });
    return c.json(run);
  });

  return api;
}
