// The log store over SQL: one implementation for every backend (D1, SQLite, Postgres), through a tiny driver interface.
import type {
  ConstitutionUse,
  LogFilter,
  LogStore,
  Page,
  PageQuery,
  Stats,
  StatsQuery,
  ViolationRow,
} from '../core/log-store.ts';
import { hashOf, summarizeTestRun, type TestRun } from '../core/quality/test-run.ts';
import {
  recordOf,
  requestColumns,
  requestInsertColumns,
  requestValues,
  shadowDiffColumns,
  shadowDiffValues,
  statementChunks,
  toRequestRow,
  valuesOf,
  violationColumns,
  violationValues,
} from './log-rows.ts';
import {
  dayMs,
  hourMs,
  planRollups,
  purgeRollupStatements,
  type RollupPlan,
  rollupStatements,
  rollupWhere,
  versionClauses,
} from './sql-rollups.ts';

export type SqlValue = string | number | null;

/** What a backend provides: queries and an atomic batch of statements (`?` placeholders in both). */
export interface SqlDb {
  /** SQLite's (SQLite, D1) unless said otherwise: where the dialects differ, the store writes each its own way. */
  dialect?: 'sqlite' | 'postgres';
  all<T = Record<string, SqlValue>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Runs the statements atomically (all or none). */
  batch(statements: Array<{ sql: string; params: SqlValue[] }>): Promise<void>;
  /** The most values one statement may bind (D1: 100); a write's multi-row inserts are split to fit. */
  maxParams?: number;
}

type Row = Record<string, SqlValue>;
const str = (v: SqlValue | undefined) => (v === null || v === undefined ? null : String(v));
const num = (v: SqlValue | undefined) => Number(v ?? 0);

function toViolationRow(r: Row): ViolationRow {
  return {
    id: String(r['id']),
    requestId: String(r['request_id']),
    time: num(r['time']),
    constitution: String(r['constitution']),
    constitutionHash: String(r['constitution_hash']),
    model: String(r['model']),
    verdict: String(r['verdict']) as ViolationRow['verdict'],
    stage: String(r['stage']) as ViolationRow['stage'],
    choice: num(r['choice']),
    round: num(r['round']),
    principle: String(r['principle']),
    severity: String(r['severity']) as ViolationRow['severity'],
    action: String(r['action']) as ViolationRow['action'],
    source: String(r['source']) as ViolationRow['source'],
    evidence: str(r['evidence']),
    critique: String(r['critique']),
    at:
      r['evidence_start'] === null || r['evidence_start'] === undefined
        ? null
        : { part: String(r['evidence_part'] ?? 'text'), start: num(r['evidence_start']) },
    review:
      r['label'] === null || r['label'] === undefined
        ? null
        : {
            label: String(r['label']) as 'confirmed' | 'false_positive',
            note: String(r['note'] ?? ''),
            time: num(r['review_time']),
          },
  };
}

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

type Dialect = NonNullable<SqlDb['dialect']>;

/**
 * SQLite and D1 find `q` through the FTS5 trigram indexes (migrations 0012, 0013), which need three characters;
 * the LIKE beside it keeps the meaning exact (a substring, ASCII case ignored) and decides shorter terms alone.
 * Postgres's trigram indexes serve ILIKE itself.
 */
const trigramSearchable = (q: string) => [...q].length >= 3;
/** Past this many matches a search term is common (see isCommonTerm). */
const commonMatches = 5000;
/**
 * `q` as an FTS5 query for the rows holding every trigram of it (each one a quoted string: its own text, whatever
 * operators or quotes it contains). The indexes keep no positions (detail=none, migration 0013), so this is a
 * superset of the rows holding `q`; the LIKE beside it keeps the exact ones.
 */
function ftsTrigrams(q: string): string {
  const chars = [...q];
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) trigrams.add(chars.slice(i, i + 3).join(''));
  return [...trigrams].map((t) => `"${t.replaceAll('"', '""')}"`).join(' ');
}

/** WHERE clauses of a filter for one table (`t` = its alias). */
interface WhereOptions {
  /**
   * SQLite: leave the time range off the time index (unary `+`), so the planner walks another index that carries
   * the time too (the latency percentiles' (latency_ms, time)) instead of sorting the whole range.
   */
  timeUnindexed?: boolean;
  /** SQLite: find `q` by walking rows newest first (a common term, found within a page) instead of through FTS. */
  textByScan?: boolean;
}

function where(
  filter: LogFilter,
  kind: 'requests' | 'violations',
  dialect: Dialect,
  options: WhereOptions = {},
): { sql: string; params: SqlValue[] } {
  // SQLite's LIKE ignores ASCII case; Postgres's does not.
  const likeOp = dialect === 'postgres' ? 'ILIKE' : 'LIKE';
  const parts: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, ...values: SqlValue[]) => {
    parts.push(sql);
    params.push(...values);
  };
  for (const [sql, value] of versionClauses(filter)) add(sql, value);
  if (filter.verdict) add('t.verdict = ?', filter.verdict);
  if (filter.model) add('t.model = ?', filter.model);
  if (filter.protocol) {
    if (kind === 'requests') add('t.protocol = ?', filter.protocol);
    else add('t.request_id IN (SELECT id FROM requests WHERE protocol = ?)', filter.protocol);
  }
  if (filter.clientRequestId) {
    if (kind === 'requests') add('t.client_request_id = ?', filter.clientRequestId);
    else add('t.request_id IN (SELECT id FROM requests WHERE client_request_id = ?)', filter.clientRequestId);
  }
  const time = options.timeUnindexed && dialect === 'sqlite' ? '+t.time' : 't.time';
  if (filter.from !== undefined) add(`${time} >= ?`, filter.from);
  if (filter.to !== undefined) add(`${time} < ?`, filter.to);
  if (filter.shadow) {
    const test = {
      judged: 'shadow IS NOT NULL',
      agree: 'shadow_disagrees = 0',
      disagree: 'shadow_disagrees = 1',
    }[filter.shadow];
    if (kind === 'requests') add(`t.${test}`);
    else add(`t.request_id IN (SELECT id FROM requests WHERE ${test})`);
  }
  if (kind === 'violations') {
    if (filter.principle) add('t.principle = ?', filter.principle);
    if (filter.severity) add('t.severity = ?', filter.severity);
    if (filter.q) {
      if (dialect === 'sqlite' && trigramSearchable(filter.q) && !options.textByScan) {
        add(
          't.rowid IN (SELECT rowid FROM violations_fts WHERE violations_fts MATCH ?)',
          ftsTrigrams(filter.q),
        );
      }
      add(
        `(t.evidence ${likeOp} ? ESCAPE '\\' OR t.critique ${likeOp} ? ESCAPE '\\')`,
        like(filter.q),
        like(filter.q),
      );
    }
    // On the join key, not the label: Postgres then plans it as an anti-join that stops at a page.
    if (filter.review === 'unreviewed') add('r.violation_id IS NULL');
    else if (filter.review) add('r.label = ?', filter.review);
  } else {
    // EXISTS probes the (principle|severity, request_id) index per request, newest first: a page of 50
    // stops early (IN (…) would first materialise every matching request id).
    if (filter.principle) {
      add(
        'EXISTS (SELECT 1 FROM violations v WHERE v.principle = ? AND v.request_id = t.id)',
        filter.principle,
      );
    }
    if (filter.severity) {
      add(
        'EXISTS (SELECT 1 FROM violations v WHERE v.severity = ? AND v.request_id = t.id)',
        filter.severity,
      );
    }
    if (filter.q) {
      if (dialect === 'sqlite' && trigramSearchable(filter.q) && !options.textByScan) {
        add('t.rowid IN (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ?)', ftsTrigrams(filter.q));
      }
      const q = like(filter.q);
      add(
        `(t.prompt ${likeOp} ? ESCAPE '\\' OR t.draft ${likeOp} ? ESCAPE '\\' OR t.final ${likeOp} ? ESCAPE '\\')`,
        q,
        q,
        q,
      );
    }
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1 = 1', params };
}

/** Cursor = the last row's (time, id), newest first: stable under concurrent writes. */
function encodeCursor(time: number, id: string): string {
  return btoa(JSON.stringify([time, id])).replace(/=+$/, '');
}

function decodeCursor(cursor: string | undefined): [number, string] | undefined {
  if (!cursor) return undefined;
  try {
    const [time, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
    if (typeof time === 'number' && typeof id === 'string') return [time, id];
  } catch {
    // fall through
  }
  throw new RangeError('invalid cursor');
}

/** Counts stats adds up: from the rows or from the rollups, merged by key. */
interface Counts {
  totals: Map<string, number>;
  verdicts: Map<string, number>;
  /** JSON [bucket, principle] → violations. */
  series: Map<string, number>;
  principles: Map<string, number>;
}

const totalKeys = [
  'n',
  'model',
  'critic',
  'critic_errors',
  'revised_tries',
  'revised_ok',
  'shadowed',
  'disagreed',
];

function countsOf(totals: Row | undefined, verdicts: Row[], series: Row[]): Counts {
  const counts: Counts = { totals: new Map(), verdicts: new Map(), series: new Map(), principles: new Map() };
  for (const k of totalKeys) counts.totals.set(k, num(totals?.[k]));
  for (const r of verdicts) counts.verdicts.set(String(r['verdict']), num(r['n']));
  for (const r of series) {
    const principle = String(r['principle']);
    counts.series.set(JSON.stringify([num(r['bucket']), principle]), num(r['n']));
    counts.principles.set(principle, (counts.principles.get(principle) ?? 0) + num(r['n']));
  }
  return counts;
}

function mergeCounts(parts: Counts[]): Counts {
  const merged: Counts = { totals: new Map(), verdicts: new Map(), series: new Map(), principles: new Map() };
  for (const part of parts) {
    for (const key of ['totals', 'verdicts', 'series', 'principles'] as const) {
      for (const [k, n] of part[key]) merged[key].set(k, (merged[key].get(k) ?? 0) + n);
    }
  }
  return merged;
}

export function createSqlStore(db: SqlDb): LogStore {
  const dialect: Dialect = db.dialect ?? 'sqlite';
  /**
   * SQLite: whether `q` matches so many rows that walking newest first finds a page sooner than sorting every
   * match the trigram index returns (it looks at most `commonMatches` matches deep).
   */
  const isCommonTerm = async (kind: 'requests' | 'violations', q: string | undefined) => {
    if (dialect !== 'sqlite' || !q || !trigramSearchable(q)) return false;
    const fts = `${kind}_fts`;
    const [row] = await db.all<Row>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${fts} WHERE ${fts} MATCH ? LIMIT ${commonMatches})`,
      [ftsTrigrams(q)],
    );
    return num(row?.['n']) >= commonMatches;
  };

  const page = async <T>(
    kind: 'requests' | 'violations',
    query: PageQuery,
    select: string,
    map: (r: Row) => T & { time: number; id: string },
  ): Promise<Page<T>> => {
    const limit = Math.min(500, Math.max(1, query.limit ?? 50));
    const w = where(query, kind, dialect, { textByScan: await isCommonTerm(kind, query.q) });
    const after = decodeCursor(query.cursor);
    // A label filter walks the labelled violations newest first on the reviews' own (label, time, id) index: the
    // same order, since a review keeps its violation's time and id.
    const [time, id] =
      kind === 'violations' && (query.review === 'confirmed' || query.review === 'false_positive')
        ? ['r.violation_time', 'r.violation_id']
        : ['t.time', 't.id'];
    const cursorSql = after ? ` AND (${time} < ? OR (${time} = ? AND ${id} < ?))` : '';
    const params = [...w.params, ...(after ? [after[0], after[0], after[1]] : []), limit + 1];
    const rows = await db.all<Row>(
      `${select} WHERE ${w.sql}${cursorSql} ORDER BY ${time} DESC, ${id} DESC LIMIT ?`,
      params,
    );
    const items = rows.slice(0, limit).map(map);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? encodeCursor(last.time, last.id) : null };
  };

  /** Request and violation counts of a filter, from the rows: the four sums stats adds up. */
  const countRows = async (filter: LogFilter, bucketMs: number): Promise<Counts> => {
    const rq = where(filter, 'requests', dialect);
    const vq = where(filter, 'violations', dialect);
    const [totals] = await db.all<Row>(
      `SELECT COUNT(*) AS n, SUM(model_tokens) AS model, SUM(critic_tokens) AS critic,
              SUM(CASE WHEN critic_error IS NOT NULL THEN 1 ELSE 0 END) AS critic_errors,
              SUM(CASE WHEN revisions > 0 THEN 1 ELSE 0 END) AS revised_tries,
              SUM(CASE WHEN revisions > 0 AND verdict = 'revised' THEN 1 ELSE 0 END) AS revised_ok,
              COUNT(t.shadow) AS shadowed, SUM(CASE WHEN t.shadow_disagrees = 1 THEN 1 ELSE 0 END) AS disagreed
       FROM requests t WHERE ${rq.sql}`,
      rq.params,
    );
    const verdicts = await db.all<Row>(
      `SELECT verdict, COUNT(*) AS n FROM requests t WHERE ${rq.sql} GROUP BY verdict`,
      rq.params,
    );
    // Reviews are joined only when the filter asks about them: counting needs the violations alone.
    const join = filter.review ? ' LEFT JOIN reviews r ON r.violation_id = t.id' : '';
    const series = await db.all<Row>(
      `SELECT (t.time / ${bucketMs}) * ${bucketMs} AS bucket, t.principle AS principle, COUNT(*) AS n
       FROM violations t${join} WHERE ${vq.sql} GROUP BY bucket, t.principle`,
      vq.params,
    );
    return countsOf(totals, verdicts, series);
  };

  /** The same counts from the rollups, over the plan's spans. */
  const countRollups = async (query: StatsQuery, spans: RollupPlan['spans'], bucketMs: number) => {
    const w = rollupWhere(query, spans);
    const [totals] = await db.all<Row>(
      `SELECT SUM(requests) AS n, SUM(model_tokens) AS model, SUM(critic_tokens) AS critic,
              SUM(critic_errors) AS critic_errors, SUM(revised_tries) AS revised_tries, SUM(revised_ok) AS revised_ok,
              SUM(shadowed) AS shadowed, SUM(disagreed) AS disagreed
       FROM rollup_requests t WHERE ${w.sql}`,
      w.params,
    );
    const verdicts = await db.all<Row>(
      `SELECT verdict, SUM(requests) AS n FROM rollup_requests t WHERE ${w.sql} GROUP BY verdict`,
      w.params,
    );
    const series = await db.all<Row>(
      `SELECT (t.start / ${bucketMs}) * ${bucketMs} AS bucket, t.principle AS principle, SUM(t.violations) AS n
       FROM rollup_violations t WHERE ${w.sql} GROUP BY bucket, t.principle`,
      w.params,
    );
    return countsOf(totals, verdicts, series);
  };

  const violationSelect =
    'SELECT t.*, r.label AS label, r.note AS note, r.time AS review_time FROM violations t LEFT JOIN reviews r ON r.violation_id = t.id';

  return {
    async write(records) {
      // A record given twice in one batch is stored (and counted) once, as it would be in two batches.
      const unique = [...new Map(records.map((r) => [r.id, r])).values()];
      if (unique.length === 0) return;
      const maxParams = db.maxParams ?? 100;
      // First the rollups: they count a record only while its request row is not stored yet.
      const statements = rollupStatements(unique, maxParams);
      // Then each table's rows as multi-row inserts. On SQLite and D1 that is also what keeps the search indexes
      // cheap: FTS5 writes its pending terms out as a new segment (later merged) at every statement's savepoint, so
      // a statement per row wrote and merged a segment per row.
      for (const [table, columns, rows] of [
        ['requests', requestInsertColumns, unique.map(requestValues)],
        ['shadow_diffs', shadowDiffColumns, unique.flatMap(shadowDiffValues)],
        ['violations', violationColumns, unique.flatMap(violationValues)],
      ] as const) {
        for (const chunk of statementChunks(rows, maxParams)) {
          const values = valuesOf(chunk);
          statements.push({
            sql: `INSERT INTO ${table} (${columns}) ${values.sql} ON CONFLICT DO NOTHING`,
            params: values.params,
          });
        }
      }
      await db.batch(statements);
    },

    listRequests: (query) =>
      page(
        'requests',
        query,
        `SELECT ${requestColumns.replace(/(^|, )/g, '$1t.')} FROM requests t`,
        toRequestRow,
      ),

    listViolations: (query) => page('violations', query, violationSelect, toViolationRow),

    async getRequest(id) {
      const [row] = await db.all<Row>(`SELECT ${requestInsertColumns} FROM requests WHERE id = ?`, [id]);
      if (!row) return undefined;
      const violations = await db.all<Row>(
        `${violationSelect} WHERE t.request_id = ? ORDER BY t.choice, t.round, t.id`,
        [id],
      );
      return {
        row: toRequestRow(row),
        record: recordOf(row),
        violations: violations.map(toViolationRow),
      };
    },

    async review(violationId, label, note, time = Date.now()) {
      const [v] = await db.all<Row>('SELECT principle, time FROM violations WHERE id = ?', [violationId]);
      if (!v) return false;
      await db.batch([
        {
          sql: 'INSERT INTO reviews (violation_id, principle, label, note, time, violation_time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (violation_id) DO UPDATE SET label = excluded.label, note = excluded.note, time = excluded.time',
          params: [violationId, String(v['principle']), label, note, time, num(v['time'])],
        },
      ]);
      return true;
    },

    async stats(query: StatsQuery): Promise<Stats> {
      const rq = where(query, 'requests', dialect);
      const vq = where(query, 'violations', dialect);
      const bucketMs = query.bucket === 'hour' ? hourMs : dayMs;
      // Whole hours and days from the rollups where the filter allows, the partial hours around them from the rows.
      const plan = planRollups(query);
      const parts = await Promise.all([
        ...(plan ? plan.rows : [query]).map((f) => countRows(f, bucketMs)),
        ...(plan ? [countRollups(query, plan.spans, bucketMs)] : []),
      ]);
      const counted = mergeCounts(parts);
      const totals = Object.fromEntries(counted.totals) as Row;
      const series = [...counted.series].map(([key, n]) => {
        const [bucket, principle] = JSON.parse(key) as [number, string];
        return { bucket, principle, n };
      });
      series.sort(
        (a, b) => a.bucket - b.bucket || (a.principle < b.principle ? -1 : a.principle > b.principle ? 1 : 0),
      );
      const principles = [...counted.principles]
        .map(([principle, n]) => ({ principle, n }))
        .filter((p) => p.n > 0)
        .sort((a, b) => b.n - a.n || (a.principle < b.principle ? -1 : a.principle > b.principle ? 1 : 0));
      const verdictRows = [...counted.verdicts].map(([verdict, n]) => ({ verdict, n }));
      // Labels are few next to violations: count them from the reviews side. Over a time range alone, the reviews
      // carry all it takes (principle, the violation's time); otherwise each is joined to its violation (SQLite's
      // CROSS JOIN keeps that order: without table statistics its planner would walk every violation instead).
      const timeOnly = Object.entries(query).every(
        ([k, v]) => v === undefined || k === 'from' || k === 'to' || k === 'bucket',
      );
      const reviewTime = [
        ...(query.from === undefined ? [] : [['r.violation_time >= ?', query.from] as const]),
        ...(query.to === undefined ? [] : [['r.violation_time < ?', query.to] as const]),
      ];
      const labels = timeOnly
        ? await db.all<Row>(
            `SELECT r.principle AS principle, r.label AS label, COUNT(*) AS n FROM reviews r
             WHERE ${reviewTime.map(([sql]) => sql).join(' AND ') || '1 = 1'} GROUP BY r.principle, r.label`,
            reviewTime.map(([, v]) => v),
          )
        : await db.all<Row>(
            `SELECT t.principle AS principle, r.label AS label, COUNT(*) AS n
             FROM reviews r ${dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN'} violations t ON t.id = r.violation_id
             WHERE ${vq.sql} GROUP BY t.principle, r.label`,
            vq.params,
          );
      const labelled = (principle: string, label: string) =>
        num(labels.find((l) => l['principle'] === principle && l['label'] === label)?.['n']);
      // Percentiles in SQL: the k-th latency in index order (no rows shipped out, no sort of the whole log).
      const n = num(totals?.['n']);
      const latencyWhere = where(query, 'requests', dialect, { timeUnindexed: true });
      const nth = async (p: number): Promise<number | null> => {
        if (n === 0) return null;
        const at = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
        const [row] = await db.all<Row>(
          `SELECT latency_ms FROM requests t WHERE ${latencyWhere.sql} ORDER BY t.latency_ms LIMIT 1 OFFSET ?`,
          [...latencyWhere.params, at],
        );
        return row ? num(row['latency_ms']) : null;
      };
      const [p50, p95] = [await nth(0.5), await nth(0.95)];
      const diffs =
        num(totals?.['disagreed']) > 0
          ? await db.all<Row>(
              `SELECT d.principle AS principle, d.side AS side, COUNT(*) AS n
               FROM shadow_diffs d JOIN requests t ON t.id = d.request_id WHERE ${rq.sql}
               GROUP BY d.principle, d.side ORDER BY d.principle`,
              rq.params,
            )
          : [];
      const shadowPrinciples = [...new Set(diffs.map((d) => String(d['principle'])))].map((principle) => {
        const count = (side: string) =>
          num(diffs.find((d) => d['principle'] === principle && d['side'] === side)?.['n']);
        return { principle, onlyShadow: count('shadow'), onlyPrimary: count('primary') };
      });
      const verdictMix = { pass: 0, revised: 0, flagged: 0, blocked: 0, error: 0 };
      for (const r of verdictRows) verdictMix[String(r['verdict']) as keyof typeof verdictMix] = num(r['n']);
      const tries = num(totals?.['revised_tries']);
      return {
        requests: n,
        verdicts: verdictMix,
        series: series.map((r) => ({
          bucket: num(r['bucket']),
          principle: String(r['principle']),
          count: num(r['n']),
        })),
        principles: principles.map((r) => {
          const principle = String(r['principle']);
          const confirmed = labelled(principle, 'confirmed');
          const falsePositive = labelled(principle, 'false_positive');
          const violations = num(r['n']);
          return {
            principle,
            violations,
            confirmed,
            falsePositive,
            unreviewed: violations - confirmed - falsePositive,
            precision: confirmed + falsePositive > 0 ? confirmed / (confirmed + falsePositive) : null,
          };
        }),
        revisionSuccessRate: tries > 0 ? num(totals?.['revised_ok']) / tries : null,
        criticErrorRate: n > 0 ? num(totals?.['critic_errors']) / n : null,
        latency: { p50, p95 },
        shadow: {
          judged: num(totals?.['shadowed']),
          disagreements: num(totals?.['disagreed']),
          principles: shadowPrinciples,
        },
        tokens: {
          model: num(totals?.['model']),
          critic: num(totals?.['critic']),
          perRequest: {
            model: n > 0 ? num(totals?.['model']) / n : null,
            critic: n > 0 ? num(totals?.['critic']) / n : null,
          },
        },
      };
    },

    async constitutions(): Promise<ConstitutionUse[]> {
      // The versions and their sums from the day rollups; first and last use one index seek each.
      const rows = await db.all<Row>(
        `SELECT constitution, constitution_hash, SUM(requests) AS n, SUM(critic_tokens) AS critic FROM rollup_requests
         WHERE grain = ${dayMs} GROUP BY constitution, constitution_hash`,
      );
      const uses = await Promise.all(
        rows.map(async (r) => {
          const key = [String(r['constitution']), String(r['constitution_hash'])];
          const edge = (fn: 'MIN' | 'MAX') =>
            db.all<Row>(
              `SELECT ${fn}(time) AS at FROM requests WHERE constitution = ? AND constitution_hash = ?`,
              key,
            );
          const [[first], [last]] = await Promise.all([edge('MIN'), edge('MAX')]);
          return {
            name: key[0]!,
            hash: key[1]!,
            requests: num(r['n']),
            criticTokens: num(r['critic']),
            first: num(first?.['at']),
            last: num(last?.['at']),
          };
        }),
      );
      return uses.sort((a, b) => b.last - a.last);
    },

    async *exportRequests(filter) {
      const w = where(filter, 'requests', dialect);
      let after: [number, string] = [-1, ''];
      for (;;) {
        const rows = await db.all<Row>(
          `SELECT ${requestInsertColumns.replace(/(^|, )/g, '$1t.')} FROM requests t WHERE ${w.sql} AND (t.time > ? OR (t.time = ? AND t.id > ?)) ORDER BY t.time, t.id LIMIT 500`,
          [...w.params, after[0], after[0], after[1]],
        );
        for (const r of rows) yield recordOf(r);
        const last = rows.at(-1);
        if (!last || rows.length < 500) return;
        after = [num(last['time']), String(last['id'])];
      }
    },

    async *exportViolations(filter) {
      const w = where(filter, 'violations', dialect);
      let after: [number, string] = [-1, ''];
      for (;;) {
        const rows = await db.all<Row>(
          `${violationSelect} WHERE ${w.sql} AND (t.time > ? OR (t.time = ? AND t.id > ?)) ORDER BY t.time, t.id LIMIT 500`,
          [...w.params, after[0], after[0], after[1]],
        );
        for (const r of rows) yield toViolationRow(r);
        const last = rows.at(-1);
        if (!last || rows.length < 500) return;
        after = [num(last['time']), String(last['id'])];
      }
    },

    async purge(before) {
      const [count] = await db.all<Row>('SELECT COUNT(*) AS n FROM requests WHERE time < ?', [before]);
      await db.batch([
        {
          sql: 'DELETE FROM reviews WHERE violation_id IN (SELECT id FROM violations WHERE time < ?)',
          params: [before],
        },
        { sql: 'DELETE FROM violations WHERE time < ?', params: [before] },
        { sql: 'DELETE FROM shadow_diffs WHERE time < ?', params: [before] },
        { sql: 'DELETE FROM requests WHERE time < ?', params: [before] },
        { sql: 'DELETE FROM test_runs WHERE time < ?', params: [before] },
        ...purgeRollupStatements(before),
      ]);
      return num(count?.['n']);
    },

    async writeTestRun(run) {
      await db.batch([
        {
          sql: 'INSERT INTO test_runs (id, time, constitution, constitution_hash, ok, passed, failed, examples, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          params: [
            run.id,
            run.time,
            run.name,
            hashOf(run.version),
            run.ok ? 1 : 0,
            run.totals.passed,
            run.totals.failed,
            run.totals.examples,
            JSON.stringify(run),
          ],
        },
      ]);
    },

    async listTestRuns(query) {
      const clauses = versionClauses(query);
      const parts = clauses.map(([sql]) => sql);
      const params = clauses.map(([, value]) => value);
      if (query.latestPerConstitution) {
        parts.push('t.time = (SELECT MAX(m.time) FROM test_runs m WHERE m.constitution = t.constitution)');
      }
      const limit = Math.min(100, Math.max(1, query.limit ?? 20));
      const rows = await db.all<Row>(
        `SELECT t.detail FROM test_runs t WHERE ${parts.join(' AND ') || '1 = 1'} ORDER BY t.time DESC, t.id DESC LIMIT ?`,
        [...params, limit],
      );
      const runs = rows.map((r) => summarizeTestRun(JSON.parse(String(r['detail'])) as TestRun));
      // Two runs of one constitution in the same millisecond: the newest (by id order) stands for it.
      return query.latestPerConstitution
        ? runs.filter((r, i) => runs.findIndex((o) => o.constitution === r.constitution) === i)
        : runs;
    },

    async getTestRun(id) {
      const [row] = await db.all<Row>('SELECT detail FROM test_runs WHERE id = ?', [id]);
      return row ? (JSON.parse(String(row['detail'])) as TestRun) : undefined;
    },
  };
}
