// A log record as the SQL rows it is stored in (requests, violations, shadow_diffs): one mapping for every backend.
import type { RequestRecord } from '../core/log-record.ts';
import type { RequestRow } from '../core/log-store.ts';
import type { SqlValue } from './sql-store.ts';

/** The requests columns a listing reads (the texts and the whole record are read only where needed). */
export const requestColumns =
  'id, time, key_id, constitution, constitution_hash, model, critic_model, verdict, stream, rounds, revisions, violation_count, latency_ms, model_tokens, critic_tokens, critic_error, reason, prompt, error_code, shadow, shadow_verdict, shadow_disagrees, protocol, client_request_id';

/** Every requests column a write fills, in the order of requestValues: what recordOf reads a record back from. */
export const requestInsertColumns = `${requestColumns}, draft, final, detail`;

/**
 * The record's fields that are in every record and have a column of their own (the listing, toRequestRow, reads
 * them all; the draft and final have columns too): `detail` leaves them out, recordOf reads them back.
 */
const columnedFields = [
  'id',
  'time',
  'keyId',
  'constitution',
  'constitutionHash',
  'model',
  'criticModel',
  'verdict',
  'stream',
  'rounds',
  'revisions',
  'latencyMs',
  'modelTokens',
  'criticTokens',
  'criticError',
  'reason',
  'prompt',
] as const satisfies readonly (keyof RequestRecord & keyof RequestRow)[];

/** What `detail` leaves out, set undefined (JSON.stringify skips it). */
const leftOut = Object.fromEntries([...columnedFields, 'draft', 'final'].map((field) => [field, undefined]));

/**
 * The record as the `detail` column keeps it: without its columned fields and texts. Kept once, a logged answer's
 * row is about a third smaller than with every field in `detail` as well. (Fields a record may lack, such as its
 * protocol and its client's id, stay: read back as they were. So does a latency that is not whole milliseconds,
 * which the column rounds.)
 */
function detailOf(rec: RequestRecord): string {
  // JSON leaves out what is undefined (a copy set so costs less than one built by leaving the fields out).
  const detail = { ...rec, ...leftOut };
  if (!Number.isInteger(rec.latencyMs)) detail.latencyMs = rec.latencyMs;
  return JSON.stringify(detail);
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
const count = (v: unknown) => Number(v ?? 0);

/** A requests row (requestColumns) as the log's listings give it. */
export function toRequestRow(r: Record<string, unknown>): RequestRow {
  return {
    id: String(r['id']),
    time: count(r['time']),
    keyId: String(r['key_id']),
    constitution: String(r['constitution']),
    constitutionHash: String(r['constitution_hash']),
    model: String(r['model']),
    criticModel: text(r['critic_model']),
    verdict: String(r['verdict']) as RequestRow['verdict'],
    stream: count(r['stream']) === 1,
    rounds: count(r['rounds']),
    revisions: count(r['revisions']),
    violationCount: count(r['violation_count']),
    latencyMs: count(r['latency_ms']),
    modelTokens: count(r['model_tokens']),
    criticTokens: count(r['critic_tokens']),
    criticError: text(r['critic_error']),
    reason: String(r['reason']),
    prompt: text(r['prompt']),
    errorCode: text(r['error_code']),
    shadow: text(r['shadow']),
    shadowVerdict: text(r['shadow_verdict']),
    shadowDisagrees:
      r['shadow_disagrees'] === null || r['shadow_disagrees'] === undefined
        ? null
        : count(r['shadow_disagrees']) === 1,
    protocol: (text(r['protocol']) ?? 'chat') as RequestRow['protocol'],
    clientRequestId: text(r['client_request_id']),
  };
}

/**
 * The record a requests row stores, from its columns (requestInsertColumns) and its `detail` (rows written before
 * fields left `detail` still carry them there: the same values).
 */
export function recordOf(row: Record<string, unknown>): RequestRecord {
  const listing = toRequestRow(row);
  const record: Record<string, unknown> = {};
  for (const field of columnedFields) record[field] = listing[field];
  record['draft'] = text(row['draft']);
  record['final'] = text(row['final']);
  return { ...record, ...(JSON.parse(String(row['detail'])) as Partial<RequestRecord>) } as RequestRecord;
}

export function requestValues(rec: RequestRecord): SqlValue[] {
  return [
    rec.id,
    rec.time,
    rec.keyId,
    rec.constitution,
    rec.constitutionHash,
    rec.model,
    rec.criticModel,
    rec.verdict,
    rec.stream ? 1 : 0,
    rec.rounds,
    rec.revisions,
    rec.violations.length,
    Math.round(rec.latencyMs),
    rec.modelTokens,
    rec.criticTokens,
    rec.criticError,
    rec.reason,
    rec.prompt,
    rec.error?.code ?? null,
    rec.shadow?.constitution ?? null,
    rec.shadow?.verdict ?? null,
    rec.shadow ? (rec.shadow.disagrees ? 1 : 0) : null,
    rec.protocol,
    rec.clientRequestId ?? null,
    rec.draft,
    rec.final,
    detailOf(rec),
  ];
}

export const violationColumns =
  'id, request_id, time, constitution, constitution_hash, model, verdict, stage, choice, round, principle, severity, action, source, evidence, critique, evidence_part, evidence_start';

/** One row per violation of the record, in the order of violationColumns. */
export function violationValues(rec: RequestRecord): SqlValue[][] {
  return rec.violations.map((v) => [
    v.id,
    rec.id,
    rec.time,
    rec.constitution,
    rec.constitutionHash,
    rec.model,
    rec.verdict,
    v.stage,
    v.choice,
    v.round,
    v.principle,
    v.severity,
    v.action,
    v.source,
    v.evidence,
    v.critique,
    v.at?.part ?? null,
    v.at?.start ?? null,
  ]);
}

export const shadowDiffColumns = 'request_id, time, constitution, shadow, principle, side';

/** One row per principle only one side (the shadow candidate or the primary) found violated. */
export function shadowDiffValues(rec: RequestRecord): SqlValue[][] {
  const sides = [
    ['shadow', rec.shadow?.onlyShadow ?? []],
    ['primary', rec.shadow?.onlyPrimary ?? []],
  ] as const;
  return sides.flatMap(([side, ids]) =>
    ids.map((principle) => [
      rec.id,
      rec.time,
      rec.constitution,
      rec.shadow?.constitution ?? '',
      principle,
      side,
    ]),
  );
}

/** `(?, ?, …)` for a row of n values. */
export const placeholders = (n: number) => `(${Array(n).fill('?').join(', ')})`;

/**
 * Rows in groups for one multi-row statement each: at most `maxParams` values (D1 binds 100) and 100 rows (few
 * distinct statements for a driver to prepare and keep).
 */
export function statementChunks(rows: SqlValue[][], maxParams: number): SqlValue[][][] {
  const size = Math.max(1, Math.min(100, Math.floor(maxParams / (rows[0]?.length ?? 1))));
  const chunks: SqlValue[][][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/** `VALUES (?, …), (?, …)` by row count and width: a batch's statements have few shapes, built once each. */
const valuesSql = new Map<string, string>();

/** `VALUES (?, …), (?, …)` and the values of a group of rows (all as wide as the first). */
export function valuesOf(rows: SqlValue[][]): { sql: string; params: SqlValue[] } {
  const width = rows[0]?.length ?? 0;
  const shape = `${rows.length}x${width}`;
  let sql = valuesSql.get(shape);
  if (sql === undefined) {
    sql = `VALUES ${Array(rows.length).fill(placeholders(width)).join(', ')}`;
    if (valuesSql.size < 1000) valuesSql.set(shape, sql);
  }
  const params: SqlValue[] = [];
  for (const row of rows) {
    if (row.length !== width) throw new Error(`valuesOf: rows of ${width} and ${row.length} values`);
    for (const v of row) params.push(v);
  }
  return { sql, params };
}
