// `tenet test [constitutions…]`: every principle's examples through the configured critic, as the proxy judges; exit 1 on a failure; `--report` posts the results to a running Tenet.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { ConstitutionLoadError, readConstitutionFiles } from '../adapters/constitution-files.ts';
import { createModelClient, type ModelClient } from '../adapters/model-client.ts';
import { type NodeConfig, parseNodeConfig, secretsOf } from '../core/config.ts';
import { formatProblem } from '../core/constitution/load.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { buildConstitutionSet, type SourceFile } from '../core/constitution/set.ts';
import { UsageError } from '../core/errors.ts';
import { renderJunit } from '../core/quality/junit.ts';
import { addTotals, type PrincipleResult, type Totals } from '../core/quality/metrics.ts';
import { runExamples, type SuiteResult } from '../core/quality/run-examples.ts';
import { createRedactor, type Redactor } from '../core/redact.ts';
import { modelLoopDeps } from '../http/loop-deps.ts';
import { AdminApiError, type AdminClient, adminClientFrom, adminTargetOptions } from './admin-client.ts';
import {
  countFlag,
  defineCommand,
  type FlagValues,
  switchFlags,
  valueFlags,
  writeOutput,
  writeReport,
} from './command.ts';
import { oneLine } from './log-tables.ts';

/** Settings of the CLI only (never the proxy's): kept out of the proxy's settings check. */
const cliOnly = ['TENET_URL'];

/** Parses the proxy's own settings (after `--env-file`s): the critic is configured as for `tenet serve`. */
export function cliConfig(): { config: NodeConfig; redact: Redactor } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !cliOnly.includes(k)));
  const config = parseNodeConfig(env);
  return { config, redact: createRedactor(secretsOf(config)) };
}

/** The critic client of the settings (TENET_CRITIC_URL/KEY, else the upstream's), as the proxy builds it. */
export function criticClient(config: NodeConfig): ModelClient {
  return createModelClient({
    baseURL: config.criticUrl,
    apiKey: config.criticKey,
    timeoutMs: config.criticTimeoutMs,
  });
}

/** The critic model for a constitution, as the proxy picks it; `fallback` is the request's model where there is one. */
export function criticModelFor(constitution: Constitution, config: NodeConfig, fallback?: string): string {
  const model = constitution.critic.model ?? config.criticModel ?? fallback;
  if (!model) {
    throw new UsageError(
      `no critic model for "${constitution.name}": set TENET_CRITIC_MODEL (or critic.model in the constitution)`,
    );
  }
  return model;
}

const isFile = (target: string) => /\.ya?ml$/i.test(target) || /[\\/]/.test(target);
const nameOf = (file: string) => basename(file).replace(/\.ya?ml$/i, '');

export interface LoadedConstitution {
  constitution: Constitution;
  file: string;
}

/**
 * Constitutions by name (from `dir`) or by file; `extends` is resolved across `dir`, the files' folders and
 * the files themselves (a named file wins over its namesake in `dir`). Broken ones: the loader's errors.
 */
export async function loadConstitutions(
  targets: readonly string[],
  dir: string,
): Promise<LoadedConstitution[]> {
  const byName = new Map<string, SourceFile>();
  const problems: string[] = [];
  if (existsSync(dir)) for (const f of readConstitutionFiles(dir)) byName.set(nameOf(f.file), f);
  else if (targets.length === 0 || targets.some((t) => !isFile(t)))
    throw new UsageError(`no constitutions folder "${dir}" (set TENET_CONSTITUTIONS_DIR or name files)`);

  const files = targets.filter(isFile);
  for (const f of files.filter((f) => !existsSync(f))) problems.push(`${f}: no such file`);
  if (problems.length > 0) throw new ConstitutionLoadError(problems);
  for (const folder of new Set(files.map((f) => dirname(resolve(f))))) {
    for (const f of readConstitutionFiles(relative(process.cwd(), folder) || '.'))
      byName.set(nameOf(f.file), f);
  }
  // A named file wins over a sibling of another named file's folder with the same name.
  for (const f of files)
    byName.set(nameOf(f), { file: relative(process.cwd(), resolve(f)), text: readFileSync(f, 'utf8') });
  const wanted = targets.length > 0 ? targets.map((t) => (isFile(t) ? nameOf(t) : t)) : [...byName.keys()];
  for (const name of wanted.filter((n) => !byName.has(n))) {
    problems.push(
      `no constitution named "${name}" in ${dir} (available: ${[...byName.keys()].join(', ') || 'none'})`,
    );
  }
  if (problems.length > 0) throw new ConstitutionLoadError(problems);

  const set = await buildConstitutionSet([...byName.values()]);
  const wantedFiles = new Set(wanted.map((n) => byName.get(n)?.file));
  const errors = set.problems.filter((p) => p.level === 'error');
  const shown = errors.filter((p) => wantedFiles.has(p.file));
  const broken = wanted.some((n) => !set.constitutions.has(n));
  if (shown.length > 0 || broken)
    throw new ConstitutionLoadError((shown.length > 0 ? shown : errors).map(formatProblem));
  return [...new Set(wanted)].map((name) => ({
    constitution: set.constitutions.get(name) as Constitution,
    file: byName.get(name)?.file ?? name,
  }));
}

const fixed = (n: number | null) => (n === null ? '—' : n.toFixed(2));
const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Left-aligned columns (numbers right-aligned), two spaces apart. */
function table(rows: string[][], numeric: ReadonlySet<number>): string {
  const widths = (rows[0] ?? []).map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, col) =>
          numeric.has(col) ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function failureLines(p: PrincipleResult, runs: number): string[] {
  return p.results
    .filter((r) => r.skipped === undefined && !r.passed)
    .map((r) => {
      const expected = r.expected ? 'violates' : 'does not violate';
      const got =
        r.predicted === 'violated' ? 'flagged' : r.predicted === 'clean' ? 'not flagged' : 'undecided';
      const last = r.runs.find((run) => run.outcome !== (r.expected ? 'violated' : 'clean')) ?? r.runs[0];
      const why = last?.fault
        ? `critic error ${last.fault.code}: ${last.fault.message}`
        : last?.evidence
          ? `evidence "${oneLine(last.evidence, 60)}"${last.critique ? ` — ${oneLine(last.critique, 80)}` : ''}`
          : (last?.note ?? '');
      const agreement = runs > 1 ? ` (${r.correctRuns}/${r.runs.length} runs right)` : '';
      return `  FAIL ${r.name}: expected ${expected}, ${got}${agreement}${why ? `; ${why}` : ''}`;
    });
}

/** The human report: a compact table per constitution, its failures, and a summary line. */
export function renderSuites(suites: readonly SuiteResult[], totals: Totals, runs: number): string {
  const out: string[] = [];
  for (const s of suites) {
    out.push(`${s.version}  (${s.file}, critic ${s.criticModel}${runs > 1 ? `, ${runs} runs each` : ''})\n`);
    const header = [
      'PRINCIPLE',
      'STAGE',
      'EXAMPLES',
      'PASS',
      'FAIL',
      'PRECISION',
      'RECALL',
      'FPR',
      'TOKENS',
      'TIME',
    ];
    const rows = s.principles.map((p) =>
      p.status !== 'tested'
        ? [p.id, p.stage, p.status, '', '', '', '', '', '', '']
        : [
            p.id,
            p.stage,
            String(p.examples) + (p.skipped > 0 ? ` (${p.skipped} skipped)` : ''),
            String(p.passed),
            String(p.failed),
            fixed(p.precision),
            fixed(p.recall),
            fixed(p.falsePositiveRate),
            String(p.criticTokens),
            secondsOf(p.criticMs),
          ],
    );
    out.push(table([header, ...rows], new Set([3, 4, 5, 6, 7, 8, 9])));
    // What judging costs this constitution per answer: each judged example is judged as one request would be.
    const judged = s.principles.reduce((n, p) => n + p.examples - p.skipped, 0);
    const tokens = s.principles.reduce((n, p) => n + p.criticTokens, 0);
    if (judged > 0) out.push(`critic tokens per request: ${Math.round(tokens / judged)} (${s.version})\n`);
    for (const p of s.principles) out.push(...failureLines(p, runs).map((l) => `${l}\n`));
    out.push('\n');
  }
  const untested =
    totals.untested > 0 ? `; ${totals.untested} principle${totals.untested === 1 ? '' : 's'} untested` : '';
  out.push(
    `${totals.examples} examples: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${untested}; ` +
      `critic ${totals.criticTokens} tokens, ${secondsOf(totals.criticMs)}\n`,
  );
  return out.join('');
}

/** The `--json` report (version 1). */
export interface TestReport {
  version: 1;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  runs: number;
  totals: Totals;
  constitutions: SuiteResult[];
}

const refuseRevision: ModelClient = {
  chat: () => Promise.reject(new Error('tenet test never revises')),
};

const testOptions = {
  ...valueFlags('runs', 'concurrency', 'json', 'junit'),
  ...switchFlags('report'),
  ...adminTargetOptions,
} as const;

export const testCommand = defineCommand({
  name: 'test',
  faultExit: 2,
  positionals: true,
  options: testOptions,
  run: runTests,
});

async function runTests(values: FlagValues<typeof testOptions>, positionals: string[]): Promise<number> {
  const runs = countFlag('runs', values.runs, 1, 101);
  const concurrency = countFlag('concurrency', values.concurrency, 4, 64);
  const { config, redact } = cliConfig();
  // Checked before any critic call: a run that cannot be reported is not worth its tokens.
  const reporter = values.report ? adminClientFrom({ url: values.url, token: values.token }) : undefined;
  if (reporter && !(values.token || process.env['TENET_ADMIN_TOKEN'])) {
    throw new UsageError('--report: no admin token: set TENET_ADMIN_TOKEN or pass --token');
  }
  const loaded = await loadConstitutions(positionals, config.constitutionsDir);
  const critic = criticClient(config);
  const targets = loaded.map(({ constitution, file }) => {
    const criticModel = criticModelFor(constitution, config);
    const deps = modelLoopDeps({ critic, reviser: refuseRevision, criticModel, model: criticModel });
    return { constitution, file, criticModel, deps };
  });

  const started = Date.now();
  const suites = await runExamples(targets, { runs, concurrency });
  const totals = addTotals(suites.map((s) => s.totals));
  const report: TestReport = {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    ok: totals.failed === 0,
    runs,
    totals,
    constitutions: suites,
  };

  if (values.junit) writeOutput(values.junit, redact(renderJunit(suites, totals)));
  writeReport(values.json, {
    json: () => redact(`${JSON.stringify(report, null, 2)}\n`),
    human: () => redact(renderSuites(suites, totals, runs)),
  });
  if (reporter && !(await sendReport(reporter, report, redact))) return 2;
  return report.ok ? 0 : 1;
}

/** Posts each constitution's result to a running Tenet (`POST /admin/api/test-runs`); false when one failed. */
async function sendReport(client: AdminClient, report: TestReport, redact: Redactor): Promise<boolean> {
  for (const suite of report.constitutions) {
    const entry = { ...suite, startedAt: report.startedAt, durationMs: report.durationMs, runs: report.runs };
    try {
      const body: unknown = JSON.parse(redact(JSON.stringify(entry)));
      const { id } = await client.post<{ id: string }>('/test-runs', body);
      process.stderr.write(`reported ${suite.version} to ${client.url}: test run ${id}\n`);
    } catch (err) {
      if (!(err instanceof AdminApiError)) throw err;
      process.stderr.write(`tenet test: --report: ${suite.version} not sent: ${err.message}\n`);
      return false;
    }
  }
  return true;
}
