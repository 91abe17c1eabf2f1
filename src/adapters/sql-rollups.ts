// Rollups: per hour and per day counts of requests and violations, written with the rows and read by stats.
import type { RequestRecord } from '../core/log-record.ts';
import type { LogFilter, StatsQuery } from '../core/log-store.ts';
import { hashOf, nameOf } from '../core/quality/test-run.ts';
import { statementChunks, valuesOf } from './log-rows.ts';
import type { SqlValue } from './sql-store.ts';

export const hourMs = 3_600_000;
export const dayMs = 86_400_000;
const grains = [hourMs, dayMs] as const;

type Statement = { sql: string; params: SqlValue[] };

// Typed placeholders: Postgres cannot infer a parameter's type from an INSERT … SELECT's target columns.
const big = 'CAST(? AS BIGINT)';

/**
 * The rollup updates of a batch of records (SQLite and D1; Postgres counts what its inserts return), to run in the
 * write's transaction before the request rows are inserted: each record is counted only while its request row is
 * not stored yet (a retried write adds nothing). The records (no id twice) go in as VALUES rows, one per record
 * (one per record and kind of violation), and are summed per rollup row in SQL: a few statements per batch.
 */
export function rollupStatements(records: readonly RequestRecord[], maxParams: number): Statement[] {
  const requestRows: SqlValue[][] = [];
  const violationRows: SqlValue[][] = [];
  for (const rec of records) {
    const [hour, day] = grains.map((grain) => Math.floor(rec.time / grain) * grain);
    const key = [rec.id, hour ?? 0, day ?? 0, rec.constitution, rec.constitutionHash, rec.verdict];
    requestRows.push([
      ...key,
      rec.modelTokens,
      rec.criticTokens,
      rec.criticError ? 1 : 0,
      rec.revisions > 0 ? 1 : 0,
      rec.revisions > 0 && rec.verdict === 'revised' ? 1 : 0,
      rec.shadow ? 1 : 0,
      rec.shadow?.disagrees ? 1 : 0,
    ]);
    // One row per principle, severity and action of the record's violations.
    const byKind = new Map<string, SqlValue[]>();
    for (const v of rec.violations) {
      const kind = JSON.stringify([v.principle, v.severity, v.action]);
      const row = byKind.get(kind) ?? [...key, v.principle, v.severity, v.action, 0];
      row[9] = Number(row[9]) + 1;
      byKind.set(kind, row);
    }
    violationRows.push(...byKind.values());
  }
  // n.column1..6: id, hour start, day start, constitution, hash, verdict; then the counts.
  const from = (values: string) => `FROM (${values}) AS n CROSS JOIN (VALUES (${hourMs}), (${dayMs})) AS g
    WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = n.column1)`;
  const start = `CASE g.column1 WHEN ${hourMs} THEN n.column2 ELSE n.column3 END`;
  const statements: Statement[] = [];
  for (const chunk of statementChunks(requestRows, maxParams)) {
    const values = valuesOf(chunk);
    statements.push({
      sql: `INSERT INTO rollup_requests (grain, start, constitution, constitution_hash, verdict, requests, model_tokens,
              critic_tokens, critic_errors, revised_tries, revised_ok, shadowed, disagreed)
            SELECT g.column1, ${start}, n.column4, n.column5, n.column6, COUNT(*), SUM(n.column7), SUM(n.column8),
              SUM(n.column9), SUM(n.column10), SUM(n.column11), SUM(n.column12), SUM(n.column13)
            ${from(values.sql)}
            GROUP BY 1, 2, 3, 4, 5
            ON CONFLICT (grain, start, constitution, constitution_hash, verdict) DO UPDATE SET ${addRequestCounts}`,
      params: values.params,
    });
  }
  for (const chunk of statementChunks(violationRows, maxParams)) {
    const values = valuesOf(chunk);
    statements.push({
      sql: `INSERT INTO rollup_violations (grain, start, constitution, constitution_hash, verdict, principle, severity,
              action, violations)
            SELECT g.column1, ${start}, n.column4, n.column5, n.column6, n.column7, n.column8, n.column9, SUM(n.column10)
            ${from(values.sql)}
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            ON CONFLICT (grain, start, constitution, constitution_hash, verdict, principle, severity, action)
            DO UPDATE SET violations = rollup_violations.violations + excluded.violations`,
      params: values.params,
    });
  }
  return statements;
}

/**
 * After a purge: the rollups of the spans wholly before `before` go, and the span it falls in is counted again
 * from the rows left (run in the purge's transaction, after the rows are deleted).
 */
export function purgeRollupStatements(before: number): Statement[] {
  return grains.flatMap((grain) => {
    const start = Math.floor(before / grain) * grain;
    return [
      { sql: 'DELETE FROM rollup_requests WHERE grain = ? AND start <= ?', params: [grain, start] },
      { sql: 'DELETE FROM rollup_violations WHERE grain = ? AND start <= ?', params: [grain, start] },
      {
        sql: `INSERT INTO rollup_requests
              SELECT ${big}, ${big}, constitution, constitution_hash, verdict, COUNT(*), SUM(model_tokens),
                SUM(critic_tokens), SUM(CASE WHEN critic_error IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN revisions > 0 THEN 1 ELSE 0 END),
                SUM(CASE WHEN revisions > 0 AND verdict = 'revised' THEN 1 ELSE 0 END),
                SUM(CASE WHEN shadow IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN shadow_disagrees = 1 THEN 1 ELSE 0 END)
              FROM requests WHERE time >= ? AND time < ? GROUP BY constitution, constitution_hash, verdict`,
        params: [grain, start, start, start + grain],
      },
      {
        sql: `INSERT INTO rollup_violations
              SELECT ${big}, ${big}, constitution, constitution_hash, verdict, principle, severity, action, COUNT(*)
              FROM violations WHERE time >= ? AND time < ?
              GROUP BY constitution, constitution_hash, verdict, principle, severity, action`,
        params: [grain, start, start, start + grain],
      },
    ];
  });
}

/** `t.constitution = ?` / `t.constitution_hash = ?` clauses of a constitution or version filter (`name@hash` or a hash). */
export function versionClauses(filter: {
  constitution?: string;
  version?: string;
}): Array<[string, SqlValue]> {
  const clauses: Array<[string, SqlValue]> = [];
  if (filter.constitution) clauses.push(['t.constitution = ?', filter.constitution]);
  if (filter.version) {
    // `name@hash` means that constitution's version; a bare hash, any constitution with that content.
    clauses.push(['t.constitution_hash = ?', hashOf(filter.version)]);
    const name = nameOf(filter.version);
    if (name) clauses.push(['t.constitution = ?', name]);
  }
  return clauses;
}

/** The rollup_requests counters a write adds to a row already there (ON CONFLICT … DO UPDATE SET). */
export const addRequestCounts = [
  'requests',
  'model_tokens',
  'critic_tokens',
  'critic_errors',
  'revised_tries',
  'revised_ok',
  'shadowed',
  'disagreed',
]
  .map((c) => `${c} = rollup_requests.${c} + excluded.${c}`)
  .join(', ');

/** A stats query split into what the rollups answer (whole hours, whole days) and the rows around it. */
export interface RollupPlan {
  /** Where rollups are read: `(grain, from, to)` spans, start inclusive, end exclusive (undefined: open). */
  spans: Array<{ grain: number; from: number | undefined; to: number | undefined }>;
  /** The partial hours at either end, read from the rows. */
  rows: LogFilter[];
}

/** Filters the rollups carry: a time range, constitution, version, verdict (anything else reads the rows). */
const rollupKeys = new Set(['constitution', 'version', 'verdict', 'from', 'to', 'bucket']);

const floorTo = (t: number, grain: number) => Math.floor(t / grain) * grain;
const ceilTo = (t: number, grain: number) => Math.ceil(t / grain) * grain;

export function planRollups(query: StatsQuery): RollupPlan | undefined {
  const keys = Object.entries(query).filter(([, v]) => v !== undefined && v !== '');
  if (keys.some(([k]) => !rollupKeys.has(k))) return undefined;
  const a = query.from === undefined ? undefined : ceilTo(query.from, hourMs);
  const b = query.to === undefined ? undefined : floorTo(query.to, hourMs);
  if (a !== undefined && b !== undefined && a >= b) return undefined;
  const rows: LogFilter[] = [];
  if (query.from !== undefined && a !== undefined && query.from < a) rows.push({ ...query, to: a });
  if (query.to !== undefined && b !== undefined && b < query.to) rows.push({ ...query, from: b });
  // Hour buckets need hour spans; otherwise whole days come from the day rollups, the hours around them from hours.
  const d1 = a === undefined ? undefined : ceilTo(a, dayMs);
  const d2 = b === undefined ? undefined : floorTo(b, dayMs);
  if (query.bucket === 'hour' || (d1 !== undefined && d2 !== undefined && d1 >= d2)) {
    return { spans: [{ grain: hourMs, from: a, to: b }], rows };
  }
  const spans: RollupPlan['spans'] = [{ grain: dayMs, from: d1, to: d2 }];
  if (a !== undefined && d1 !== undefined && a < d1) spans.push({ grain: hourMs, from: a, to: d1 });
  if (b !== undefined && d2 !== undefined && d2 < b) spans.push({ grain: hourMs, from: d2, to: b });
  return { spans, rows };
}

/** The WHERE clause of a rollup read: the plan's spans and the filter's constitution, version and verdict. */
export function rollupWhere(
  query: StatsQuery,
  spans: RollupPlan['spans'],
): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  for (const [sql, value] of versionClauses(query)) {
    parts.push(sql);
    params.push(value);
  }
  if (query.verdict) {
    parts.push('t.verdict = ?');
    params.push(query.verdict);
  }
  const spanSql = spans.map((s) => {
    params.push(s.grain);
    let sql = 't.grain = ?';
    if (s.from !== undefined) {
      sql += ' AND t.start >= ?';
      params.push(s.from);
    }
    if (s.to !== undefined) {
      sql += ' AND t.start < ?';
      params.push(s.to);
    }
    return `(${sql})`;
  });
  parts.push(`(${spanSql.join(' OR ')})`);
  return { sql: parts.join(' AND '), params };
}
