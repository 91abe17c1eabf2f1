// Streamed exports of the log (JSONL, CSV, preference pairs): rows pulled from the store page by page, constant memory.
import type { RequestRecord } from '../core/log-record.ts';
import type { LogFilter, LogStore, ViolationRow } from '../core/log-store.ts';

export type ExportFormat = 'jsonl' | 'csv' | 'pairs';
export type ExportKind = 'requests' | 'violations';

/** One line of the `pairs` export: Constitutional AI's critique–revision data as preference pairs. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  principles: string[];
  labels: Array<{
    violation: string;
    principle: string;
    label: 'confirmed' | 'false_positive';
    note: string;
  }>;
  request_id: string;
  /** Which choice of the request (n > 1 gives one pair per revised choice). */
  choice: number;
  constitution: string;
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '' : new Date(ms).toISOString();

/**
 * RFC 4180, defensively: every text field is quoted (its quotes doubled), so no separator inside it (`,` or the
 * `;` of a spreadsheet set to another locale) splits it. Logged text is written by models and users, so a text a
 * spreadsheet could run as a formula gets an apostrophe before `= + - @` (and tab, CR) at its start and after any
 * separator or line break in it (OWASP's CSV-injection advice, for a reader that splits on `;` anyway). Numbers
 * and booleans stay bare.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const neutral = value.replace(/(^|[,;\t\r\n|])([=+\-@\t\r])/g, "$1'$2");
  return `"${neutral.replaceAll('"', '""')}"`;
}

/** A JSON line: U+2028 and U+2029 escaped too (JSON allows them raw; a JavaScript reader splitting lines does not). */
export const jsonLine = (value: unknown) =>
  `${JSON.stringify(value).replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029')}\n`;

const csvLine = (fields: Array<string | number | boolean | null | undefined>) =>
  `${fields.map(csvField).join(',')}\r\n`;

const violationColumns = [
  'id',
  'request_id',
  'time',
  'constitution',
  'constitution_hash',
  'model',
  'verdict',
  'stage',
  'choice',
  'round',
  'principle',
  'severity',
  'action',
  'source',
  'evidence',
  'critique',
  'review_label',
  'review_note',
  'review_time',
];

const violationCsv = (v: ViolationRow) =>
  csvLine([
    v.id,
    v.requestId,
    iso(v.time),
    v.constitution,
    v.constitutionHash,
    v.model,
    v.verdict,
    v.stage,
    v.choice,
    v.round,
    v.principle,
    v.severity,
    v.action,
    v.source,
    v.evidence,
    v.critique,
    v.review?.label,
    v.review?.note,
    iso(v.review?.time),
  ]);

const requestColumns = [
  'id',
  'time',
  'key_id',
  'protocol',
  'constitution',
  'constitution_hash',
  'model',
  'critic_model',
  'verdict',
  'stream',
  'rounds',
  'revisions',
  'violations',
  'principles',
  'latency_ms',
  'model_tokens',
  'critic_tokens',
  'critic_error',
  'error_code',
  'reason',
  'prompt',
  'draft',
  'final',
];

const requestCsv = (r: RequestRecord) =>
  csvLine([
    r.id,
    iso(r.time),
    r.keyId,
    // Records written before migration 0007 have no protocol: they were all chat completions.
    r.protocol ?? 'chat',
    r.constitution,
    r.constitutionHash,
    r.model,
    r.criticModel,
    r.verdict,
    r.stream,
    r.rounds,
    r.revisions,
    r.violations.length,
    [...new Set(r.violations.map((v) => v.principle))].join(' '),
    r.latencyMs,
    r.modelTokens,
    r.criticTokens,
    r.criticError,
    r.error?.code ?? null,
    r.reason,
    r.prompt,
    r.draft,
    r.final,
  ]);

/** The principles whose violations made choice `choice`'s answer get revised: those found before its chosen round. */
export function principlesBehindRevision(record: RequestRecord, choice = 0): string[] {
  const stage = record.stages.find((s) => s.stage === 'output' && s.choice === choice);
  const chosen = stage?.chosen ?? Number.POSITIVE_INFINITY;
  const found = record.violations.filter(
    (v) => v.stage === 'output' && v.choice === choice && v.round < chosen && v.action === 'revise',
  );
  return [...new Set(found.map((v) => v.principle))];
}

/** Each revised choice's draft and final text (n > 1: every choice, each judged and revised on its own). */
function revisedChoices(record: RequestRecord): Array<{ choice: number; draft: string; final: string }> {
  const outputs = record.stages.filter((s) => s.stage === 'output');
  if (outputs.length === 0) {
    // A record without stages: its one draft and final.
    return record.verdict === 'revised' && record.draft !== null && record.final !== null
      ? [{ choice: 0, draft: record.draft, final: record.final }]
      : [];
  }
  return outputs.flatMap((stage) => {
    const draft = stage.rounds.find((r) => r.kind === 'draft')?.text ?? null;
    const final = stage.rounds.find((r) => r.index === stage.chosen)?.text ?? null;
    return stage.verdict === 'revised' && draft !== null && final !== null && draft !== final
      ? [{ choice: stage.choice, draft, final }]
      : [];
  });
}

/** The preference pairs of a request, one per revised choice whose texts were logged. */
export async function pairsOf(store: LogStore, record: RequestRecord): Promise<PreferencePair[]> {
  const { prompt } = record;
  const choices = prompt === null ? [] : revisedChoices(record);
  if (prompt === null || choices.length === 0) return [];
  // Reviews live beside the record: read this request's violations with their labels.
  const detail = await store.getRequest(record.id);
  return choices.map(({ choice, draft, final }) => ({
    prompt,
    chosen: final,
    rejected: draft,
    principles: principlesBehindRevision(record, choice),
    labels: (detail?.violations ?? []).flatMap((v) =>
      v.review && v.stage === 'output' && v.choice === choice
        ? [{ violation: v.id, principle: v.principle, label: v.review.label, note: v.review.note }]
        : [],
    ),
    request_id: record.id,
    choice,
    constitution: `${record.constitution}@${record.constitutionHash}`,
  }));
}

/** The export's text lines, one source row at a time. */
async function* exportLines(
  store: LogStore,
  format: ExportFormat,
  kind: ExportKind,
  filter: LogFilter,
): AsyncGenerator<string> {
  if (format === 'pairs') {
    // A revised choice sits in a revised request, or in a blocked one when another choice of n > 1 was blocked.
    for (const verdict of filter.verdict ? [filter.verdict] : (['revised', 'blocked'] as const)) {
      for await (const record of store.exportRequests({ ...filter, verdict })) {
        for (const pair of await pairsOf(store, record)) yield jsonLine(pair);
      }
    }
  } else if (kind === 'violations') {
    if (format === 'csv') yield `${violationColumns.join(',')}\r\n`;
    for await (const v of store.exportViolations(filter)) {
      yield format === 'csv' ? violationCsv(v) : jsonLine(v);
    }
  } else {
    if (format === 'csv') yield `${requestColumns.join(',')}\r\n`;
    for await (const r of store.exportRequests(filter)) {
      yield format === 'csv' ? requestCsv(r) : jsonLine(r);
    }
  }
}

/** About this much text is gathered before a chunk is handed to the client. */
const chunkChars = 16 * 1024;

/** A byte stream of the export that reads the store only as fast as the client reads the response. */
export function exportStream(
  store: LogStore,
  format: ExportFormat,
  kind: ExportKind,
  filter: LogFilter,
): ReadableStream<Uint8Array> {
  const lines = exportLines(store, format, kind, filter);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = '';
      while (chunk.length < chunkChars) {
        const next = await lines.next();
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
}

export function exportHeaders(format: ExportFormat, kind: ExportKind, now: number): Record<string, string> {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  const name = format === 'pairs' ? `tenet-pairs-${stamp}.jsonl` : `tenet-${kind}-${stamp}.${format}`;
  return {
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
}
