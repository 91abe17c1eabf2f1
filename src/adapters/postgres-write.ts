// Postgres: a batch of log records as one statement — multi-row inserts, and rollups counted from what they inserted.
import pg from 'pg';
import type { RequestRecord } from '../core/log-record.ts';
import {
  requestInsertColumns,
  requestValues,
  shadowDiffColumns,
  shadowDiffValues,
  violationColumns,
  violationValues,
} from './log-rows.ts';
import { addRequestCounts, dayMs, hourMs } from './sql-rollups.ts';
import type { SqlValue } from './sql-store.ts';

/** A value as an SQL literal: numbers as written (finite only), text through pg's own escaping, null as NULL. */
export function literal(value: SqlValue | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return String(value);
  }
  return pg.escapeLiteral(value);
}

const tuples = (rows: SqlValue[][]) => rows.map((r) => `(${r.map(literal).join(', ')})`).join(',\n');

/**
 * The statement that stores `records`. Each table takes one multi-row INSERT … ON CONFLICT DO NOTHING, and the
 * rollups count exactly the rows those inserts RETURN — the ones not stored before — so a retried batch, or two
 * instances writing the same record at once, never count a record twice. One statement: atomic on its own, one
 * round trip, and planned once instead of once per row (values are written in as literals: a bound parameter per
 * value would exceed the protocol's 65,535 for a batch of a thousand records).
 */
export function postgresWriteSql(records: readonly RequestRecord[]): string {
  const diffs = records.flatMap(shadowDiffValues);
  const violations = records.flatMap(violationValues);
  const parts = [
    `new_requests AS (
      INSERT INTO requests (${requestInsertColumns}) VALUES ${tuples(records.map(requestValues))}
      ON CONFLICT DO NOTHING
      RETURNING time, constitution, constitution_hash, verdict, model_tokens, critic_tokens, critic_error, revisions,
        shadow, shadow_disagrees)`,
    `grains AS (SELECT CAST(g AS BIGINT) AS grain FROM (VALUES (${hourMs}), (${dayMs})) AS x (g))`,
    `request_rollups AS (
      INSERT INTO rollup_requests (grain, start, constitution, constitution_hash, verdict, requests, model_tokens,
        critic_tokens, critic_errors, revised_tries, revised_ok, shadowed, disagreed)
      SELECT g.grain, (n.time / g.grain) * g.grain, n.constitution, n.constitution_hash, n.verdict, COUNT(*),
        SUM(n.model_tokens), SUM(n.critic_tokens), COUNT(n.critic_error), COUNT(*) FILTER (WHERE n.revisions > 0),
        COUNT(*) FILTER (WHERE n.revisions > 0 AND n.verdict = 'revised'), COUNT(n.shadow),
        COUNT(*) FILTER (WHERE n.shadow_disagrees = 1)
      FROM new_requests n CROSS JOIN grains g
      GROUP BY g.grain, (n.time / g.grain) * g.grain, n.constitution, n.constitution_hash, n.verdict
      ON CONFLICT (grain, start, constitution, constitution_hash, verdict) DO UPDATE SET ${addRequestCounts})`,
  ];
  if (diffs.length > 0) {
    parts.push(`new_diffs AS (
      INSERT INTO shadow_diffs (${shadowDiffColumns}) VALUES ${tuples(diffs)} ON CONFLICT DO NOTHING)`);
  }
  if (violations.length > 0) {
    parts.push(
      `new_violations AS (
        INSERT INTO violations (${violationColumns}) VALUES ${tuples(violations)} ON CONFLICT DO NOTHING
        RETURNING time, constitution, constitution_hash, verdict, principle, severity, action)`,
      `violation_rollups AS (
        INSERT INTO rollup_violations (grain, start, constitution, constitution_hash, verdict, principle, severity,
          action, violations)
        SELECT g.grain, (n.time / g.grain) * g.grain, n.constitution, n.constitution_hash, n.verdict, n.principle,
          n.severity, n.action, COUNT(*)
        FROM new_violations n CROSS JOIN grains g
        GROUP BY g.grain, (n.time / g.grain) * g.grain, n.constitution, n.constitution_hash, n.verdict, n.principle,
          n.severity, n.action
        ON CONFLICT (grain, start, constitution, constitution_hash, verdict, principle, severity, action)
        DO UPDATE SET violations = rollup_violations.violations + excluded.violations)`,
    );
  }
  // Every data-modifying WITH runs to completion whether or not the main query reads it.
  return `WITH ${parts.join(',\n')}\nSELECT 1`;
}
