// The admin API (/admin/api): the violation log as JSON — listings, one request in full, reviews, stats, exports, test runs.
import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { diffTexts } from '../core/diff.ts';
import { TenetError } from '../core/errors.ts';
import {
  defined,
  filterOf,
  limitParam,
  logFilterShape,
  requestsQuery,
  reviewShape,
  violationsQuery,
} from '../core/log-filter.ts';
import type { LogFilter } from '../core/log-store.ts';
import { type TestRun, testRunBody } from '../core/quality/test-run.ts';
import { exportHeaders, exportStream } from './admin-export.ts';
import type { AppEnv } from './app-env.ts';

const statsQuery = z.strictObject({
  ...logFilterShape,
  ...reviewShape,
  bucket: z.enum(['hour', 'day']).optional(),
});
const exportQuery = z.strictObject({
  ...logFilterShape,
  ...reviewShape,
  format: z.enum(['jsonl', 'csv', 'pairs']).default('jsonl'),
  kind: z.enum(['requests', 'violations']).default('violations'),
});

const testRunsQuery = z.strictObject({
  constitution: logFilterShape.constitution,
  version: logFilterShape.version,
  limit: limitParam(100),
});

/** A test run's report is a few KB per example: 8 MiB holds thousands of examples with their critiques. */
export const maxTestRunBytes = 8 * 1024 * 1024;

const reviewBody = z.strictObject({
  label: z.enum(['confirmed', 'false_positive']),
  note: z.string().max(4000, 'must be at most 4000 characters').default(''),
});

/** The 400 for a zod error, naming the offending parameter or field (its whole path). */
function invalid(error: z.core.$ZodError, where: string): TenetError {
  const issue = error.issues[0];
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
  return new TenetError('invalid_request', message, { param });
}

/** Parses with `schema`, or throws a 400 that names the offending field. */
function parse<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalid(result.error, where);
}

/** Validates the query string at the edge; a mistake is an OpenAI-shaped 400 naming the parameter. */
const query = <T extends z.ZodType>(schema: T) =>
  zValidator('query', schema, (result) => {
    if (!result.success) throw invalid(result.error, 'query parameter');
  });

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

  api.get('/violations', query(violationsQuery), async (c) => {
    const filter = filterOf(c.req.valid('query'));
    return c.json(await withCursor(() => c.var.deps.logStore.listViolations(filter)));
  });

  api.get('/requests', query(requestsQuery), async (c) => {
    const filter = filterOf(c.req.valid('query'));
    return c.json(await withCursor(() => c.var.deps.logStore.listRequests(filter)));
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

  api.get('/stats', query(statsQuery), async (c) => {
    return c.json(await c.var.deps.logStore.stats(filterOf(c.req.valid('query'))));
  });

  api.get('/export', query(exportQuery), (c) => {
    const { format, kind, ...rest } = c.req.valid('query');
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

  api.get('/test-runs', query(testRunsQuery), async (c) => {
    return c.json({ items: await c.var.deps.logStore.listTestRuns(defined(c.req.valid('query'))) });
  });

  api.get('/test-runs/:id', async (c) => {
    const id = c.req.param('id');
    const run = await c.var.deps.logStore.getTestRun(id);
    if (!run) throw new TenetError('not_found', `No test run with id "${id}".`, { param: 'id' });
    return c.json(run);
  });

  return api;
}
