// `tenet replay --constitution FILE`: logged drafts of a running Tenet judged under a candidate constitution; what would change.

import { createModelClient } from '../adapters/model-client.ts';
import { UsageError } from '../core/errors.ts';
import type { Page, RequestRow, Stats } from '../core/log-store.ts';
import {
  estimateTokens,
  type LoggedRequest,
  type ReplayedRequest,
  type ReplaySummary,
  replayRequest,
  summarizeReplay,
} from '../core/quality/replay.ts';
import { inPool } from '../core/quality/run-examples.ts';
import { modelLoopDeps } from '../http/loop-deps.ts';
import { adminClientFrom, adminTargetOptions } from './admin-client.ts';
import { countFlag, defineCommand, type FlagValues, valueFlags, writeReport } from './command.ts';
import { filterQuery, logFilterOptions } from './logs.ts';
import { cliConfig, criticClient, criticModelFor, loadConstitutions } from './test.ts';

type Query = Record<string, string | number | undefined>;

/** The `--json` report (version 1). */
export interface ReplayReport extends ReplaySummary {
  version: 1;
  startedAt: string;
  durationMs: number;
  candidate: { name: string; version: string; file: string };
  /** The log filter as sent to the admin API (`constitution` absent: every constitution's requests). */
  filter: Query;
  revise: boolean;
  /** Requests the filter matches in the log (null when the log could not say). */
  matching: number | null;
  fetched: number;
  limit: number;
  /** Critic tokens for every matching request at this run's rate; null when --limit cut nothing off. */
  estimatedCriticTokens: number | null;
  requests: ReplayedRequest[];
}

const pad = (cells: string[], widths: number[]) =>
  cells
    .map((c, i) =>
      i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
    )
    .join('  ')
    .trimEnd();

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => `${pad(r, widths)}\n`).join('');
}

/** The human report: the principles that moved, the verdicts that changed, and the cost. */
export function renderReplay(r: ReplayReport): string {
  const out: string[] = [];
  const whose = r.filter['constitution']
    ? `logged under "${r.filter['constitution']}"`
    : 'of every constitution';
  const of = r.matching !== null ? ` of ${r.matching} matching` : '';
  out.push(
    `replay: ${r.candidate.version} (${r.candidate.file}) on ${r.fetched} request${r.fetched === 1 ? '' : 's'} ${whose}${of}` +
      `${r.revise ? ', with revisions' : ''}\n`,
  );
  const skipped = r.skipped.content_not_stored + r.skipped.no_draft;
  out.push(
    `judged ${r.judged}, skipped ${skipped} (content not stored: ${r.skipped.content_not_stored}, no draft logged: ${r.skipped.no_draft})` +
      `${r.criticFaults > 0 ? `, critic errors ${r.criticFaults}` : ''}\n\n`,
  );
  const moved = r.principles.filter((p) => p.newViolations + p.resolved + p.unchanged > 0);
  if (moved.length > 0) {
    const rows = moved.map((p) => [
      p.principle,
      String(p.newViolations),
      String(p.resolved),
      String(p.unchanged),
      [...p.newExamples.map((id) => `+${id}`), ...p.resolvedExamples.map((id) => `-${id}`)].join(' '),
    ]);
    out.push(table([['PRINCIPLE', 'NEW', 'RESOLVED', 'UNCHANGED', 'EXAMPLES'], ...rows]), '\n');
  } else {
    out.push('no principle fired, before or after\n\n');
  }
  const verdicts = r.verdictChanges.map((c) => [
    `${c.from} → ${c.to}`,
    String(c.count),
    c.examples.join(' '),
  ]);
  out.push(
    table([
      ['VERDICT CHANGE', 'COUNT', 'EXAMPLES'],
      ...verdicts,
      ['unchanged', String(r.verdictsUnchanged), ''],
    ]),
  );
  const perRequest = r.fetched > 0 ? Math.round(r.criticTokens / r.fetched) : 0;
  out.push(
    `\ncritic: ${r.criticTokens} tokens on ${r.fetched} requests (${perRequest} per request)` +
      (r.estimatedCriticTokens !== null
        ? `; about ${r.estimatedCriticTokens} for all ${r.matching} matching (--limit ${r.limit} cut it short)`
        : '') +
      (r.revise ? `; revisions: ${r.revisionTokens} tokens of the client's models` : '') +
      '\n',
  );
  return out.join('');
}

/** The log filter's flags, but `--constitution` names the candidate (`--logged`: whose traffic) and reviews are of violations. */
const { constitution: _candidate, review: _review, ...requestFilterOptions } = logFilterOptions;

const replayOptions = {
  ...valueFlags('constitution', 'logged'),
  ...adminTargetOptions,
  ...requestFilterOptions,
  ...valueFlags('limit', 'concurrency', 'json'),
  revise: { type: 'boolean' },
} as const;

export const replayCommand = defineCommand({
  name: 'replay',
  faultExit: 2,
  options: replayOptions,
  run: runReplay,
});

async function runReplay(values: FlagValues<typeof replayOptions>): Promise<number> {
  if (!values.constitution)
    throw new UsageError('--constitution FILE|NAME: the candidate constitution is required');
  const limit = countFlag('limit', values.limit, 200, 100_000);
  const concurrency = countFlag('concurrency', values.concurrency, 4, 64);
  const { config, redact } = cliConfig();
  const [loaded] = await loadConstitutions([values.constitution], config.constitutionsDir);
  if (!loaded) throw new UsageError(`no constitution "${values.constitution}"`);
  const candidate = loaded.constitution;
  const client = adminClientFrom(values);

  // Whose traffic: --logged NAME, --logged all, else the candidate's namesake when the log has its requests.
  let logged: string | undefined = values.logged === 'all' ? undefined : values.logged;
  if (values.logged === undefined) {
    const used = await client.get<{ items: Array<{ name: string; requests: number }> }>('/constitutions');
    logged = used.items.some((c) => c.name === candidate.name && c.requests > 0) ? candidate.name : undefined;
  }
  const { constitution: _, review: _review, ...asked } = filterQuery(values, Date.now());
  const filter: Query = Object.fromEntries(
    Object.entries({ constitution: logged, ...asked }).filter(([, v]) => v !== undefined),
  );

  const started = Date.now();
  const rows: RequestRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.get<Page<RequestRow>>('/requests', {
      ...filter,
      limit: Math.min(500, limit - rows.length),
      cursor,
    });
    rows.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && rows.length < limit);
  const matching =
    cursor === undefined ? rows.length : ((await client.get<Stats>('/stats', filter)).requests ?? null);

  const critic = criticClient(config);
  const reviser = createModelClient({
    baseURL: config.upstreamUrl,
    apiKey: config.upstreamKey,
    timeoutMs: config.criticTimeoutMs,
  });
  const revise = values.revise === true;
  const results = await inPool(
    rows.map((row) => async () => {
      const { record } = await client.get<{ record: LoggedRequest }>(
        `/requests/${encodeURIComponent(row.id)}`,
      );
      const deps = modelLoopDeps({
        critic,
        reviser,
        criticModel: criticModelFor(candidate, config, record.model),
        model: record.model,
      });
      return await replayRequest(candidate, record, deps, { revise });
    }),
    concurrency,
  );
  const summary = summarizeReplay(results, candidate);
  const report: ReplayReport = {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    candidate: { name: candidate.name, version: `${candidate.name}@${candidate.hash}`, file: loaded.file },
    filter,
    revise,
    matching,
    fetched: rows.length,
    limit,
    estimatedCriticTokens: estimateTokens(summary.criticTokens, rows.length, matching),
    ...summary,
    requests: results,
  };
  writeReport(values.json, {
    json: () => redact(`${JSON.stringify(report, null, 2)}\n`),
    human: () => redact(renderReplay(report)),
  });
  return 0;
}
