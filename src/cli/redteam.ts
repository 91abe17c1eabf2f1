// `tenet redteam`: sends the red-team probes through a running Tenet and reports which principles caught what.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem } from '../core/constitution/load.ts';
import { UsageError } from '../core/errors.ts';
import { type ProtocolId, protocolIds } from '../core/exchange/protocol.ts';
import {
  classifyProbe,
  outcomes,
  type ProbeResponse,
  type ProbeResult,
  type RedteamReport,
  summariseRun,
} from '../core/quality/redteam.ts';
import { mergeProbes, type Probe, parseProbeFile } from '../core/quality/redteam-probes.ts';
import { suggest } from '../core/suggest.ts';
import {
  countFlag,
  defineCommand,
  type FlagValues,
  switchFlags,
  valueFlags,
  writeReport,
} from './command.ts';
import { sendProbe, type Target, why } from './redteam-client.ts';

const builtinProbes = fileURLToPath(new URL('../../redteam/probes.yaml', import.meta.url));

const options = {
  ...valueFlags('url', 'key', 'constitution', 'model', 'protocol', 'concurrency', 'timeout', 'json'),
  probes: { type: 'string', multiple: true },
  category: { type: 'string', multiple: true },
  ...switchFlags('stream', 'list', 'no-builtin'),
} as const;

/** Every probe: the built-in ones, then each `--probes` file (adding, or replacing by id). Exit 2 on any problem. */
function loadProbes(files: readonly string[], builtin: boolean): Probe[] {
  if (!builtin && files.length === 0) throw new UsageError('--no-builtin needs at least one --probes FILE');
  const sets: Probe[][] = [];
  let errors = 0;
  for (const file of builtin ? [builtinProbes, ...files] : files) {
    const shown = file === builtinProbes ? relative(process.cwd(), file) || file : file;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${shown}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const { probes, problems } = parseProbeFile(shown, text);
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    errors += problems.length;
    sets.push(probes);
  }
  if (errors > 0) throw new UsageError(`${errors} error${errors === 1 ? '' : 's'} in the probe files`);
  return mergeProbes(...sets);
}

function chooseCategories(probes: Probe[], wanted: readonly string[] | undefined): Probe[] {
  if (!wanted || wanted.length === 0) return probes;
  const known = [...new Set(probes.map((p) => p.category))];
  for (const c of wanted) {
    if (!known.includes(c)) {
      const near = suggest(c, known);
      throw new UsageError(
        `--category: no probe of category "${c}"${near ? ` (did you mean "${near}"?)` : ''}; categories: ${known.join(', ')}`,
      );
    }
  }
  return probes.filter((p) => wanted.includes(p.category));
}

/** The proxy answers /health; when it lists its constitutions, `--constitution` must be one of them. */
async function checkProxy(target: Target): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/health`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UsageError(`cannot reach Tenet at ${target.url}: ${why(err)}`);
  }
  if (!res.ok)
    throw new UsageError(`${target.url}/health answered HTTP ${res.status}: is this a Tenet proxy?`);
  const health = (await res.json().catch(() => ({}))) as { constitutions?: unknown };
  if (!target.constitution || !Array.isArray(health.constitutions)) return;
  const names = health.constitutions.map((c) => String(c).replace(/@.*$/, ''));
  if (!names.includes(target.constitution)) {
    const near = suggest(target.constitution, names);
    throw new UsageError(
      `--constitution: Tenet at ${target.url} has no constitution "${target.constitution}"${near ? ` (did you mean "${near}"?)` : ''}; it has ${names.join(', ')}`,
    );
  }
}

/** Answers that mean no probe can run: the key is refused, or the constitution is unknown. */
function fatalOf(res: ProbeResponse): string | undefined {
  if (res.status === 401 || res.status === 403)
    return `Tenet refused the client key (HTTP ${res.status} ${res.error?.code ?? ''}): pass --key or set TENET_KEY`;
  if (res.error?.code === 'unknown_constitution') return `--constitution: ${res.error.message}`;
  return undefined;
}

async function runProbes(probes: Probe[], target: Target, concurrency: number, scrub: (s: string) => string) {
  const results: ProbeResult[] = new Array(probes.length);
  let constitution: string | null = null;
  let next = 0;
  let fatal: string | undefined;
  const stop = new AbortController();
  const worker = async () => {
    while (next < probes.length && !fatal) {
      const index = next++;
      const probe = probes[index] as Probe;
      const started = Date.now();
      const { response, text, headers } = await sendProbe(probe, target, stop.signal);
      if (stop.signal.aborted) return;
      fatal = fatalOf(response);
      if (fatal) {
        stop.abort();
        return;
      }
      constitution ??= headers['x-tenet-constitution'] ?? null;
      const { outcome, fired, reason } = classifyProbe(probe, response);
      const revisions = Number(headers['x-tenet-revisions']);
      results[index] = {
        id: probe.id,
        category: probe.category,
        expect: probe.expect,
        principles: probe.principles,
        outcome,
        reason: scrub(reason),
        verdict: response.verdict ?? null,
        fired,
        status: response.status,
        code: response.error?.code ?? null,
        revisions: Number.isInteger(revisions) ? revisions : null,
        critic_error: response.criticError ?? null,
        request_id: headers['x-tenet-request-id'] ?? null,
        latency_ms: Date.now() - started,
        answer: text ? scrub(text.slice(0, 500)) : null,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, probes.length) }, worker));
  if (fatal) throw new UsageError(scrub(fatal));
  return { results, constitution };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((_, col) => Math.max(...[header, ...rows].map((r) => (r[col] ?? '').length)));
  return [header, ...rows]
    .map(
      (r) =>
        `${r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')}\n`,
    )
    .join('');
}

const none = (ids: readonly string[]) => (ids.length > 0 ? ids.join(', ') : '-');

/** The report people read: one line per probe, then counts per category and per principle, then the verdict. */
export function renderReport(report: RedteamReport): string {
  const { results, summary } = report;
  const head =
    `tenet redteam: ${summary.total} probe${summary.total === 1 ? '' : 's'} through ${report.url}` +
    ` (constitution ${report.constitution ?? 'unknown'}, model ${report.model}, ${report.protocol}${report.stream ? ', streamed' : ''})\n\n`;
  const probes = table(
    ['PROBE', 'CATEGORY', 'EXPECT', 'OUTCOME', 'VERDICT', 'FIRED', 'WHY'],
    results.map((r) => [
      r.id,
      r.category,
      r.expect,
      r.outcome.toUpperCase(),
      r.verdict ?? '-',
      none(r.fired),
      r.outcome === 'caught' || r.outcome === 'ok' || !r.request_id
        ? r.reason
        : `${r.reason} [${r.request_id}]`,
    ]),
  );
  const categories = table(
    ['CATEGORY', 'PROBES', ...outcomes.map((o) => o.toUpperCase())],
    summary.categories.map((c) => [
      c.category,
      String(c.total),
      ...outcomes.map((o) => String(c.outcomes[o])),
    ]),
  );
  const principles = table(
    ['PRINCIPLE', 'FIRED', 'FIRED ON', 'SILENT ON (expected)', 'FIRED WHERE IT MUST NOT'],
    summary.principles.map((p) => [
      p.principle,
      String(p.fired_on.length),
      none(p.fired_on),
      none(p.silent_on),
      none(p.over_fired_on),
    ]),
  );
  const o = summary.outcomes;
  const counts = outcomes.map((k) => `${o[k]} ${k}`).join(', ');
  const last = summary.passed ? `passed: ${counts}\n` : `FAILED: ${counts}\n`;
  return `${head}${probes}\n${categories}\n${principles}\n${last}`;
}

/** `--protocol chat|responses|completions|messages`: which API the probes are sent through. */
function protocolOption(value: string | undefined): ProtocolId {
  if (value === undefined) return 'chat';
  if ((protocolIds as readonly string[]).includes(value)) return value as ProtocolId;
  throw new UsageError(`--protocol: one of ${protocolIds.join(', ')} (got "${value}")`);
}

async function redteam(values: FlagValues<typeof options>): Promise<number> {
  const probes = chooseCategories(
    loadProbes(values.probes ?? [], values['no-builtin'] !== true),
    values.category,
  );
  if (values.list) {
    process.stdout.write(
      table(
        ['PROBE', 'CATEGORY', 'EXPECT', 'PRINCIPLES'],
        probes.map((p) => [p.id, p.category, p.expect, none(p.principles)]),
      ),
    );
    return 0;
  }
  const key = values.key || process.env['TENET_KEY'] || undefined;
  const scrub = (s: string) => (key ? s.replaceAll(key, '***') : s);
  const target: Target = {
    url: (values.url || process.env['TENET_URL'] || 'http://127.0.0.1:8787').replace(/\/+$/, ''),
    key,
    constitution: values.constitution,
    model: values.model ?? 'gpt-4o-mini',
    stream: values.stream === true,
    protocol: protocolOption(values.protocol),
    timeoutMs: countFlag('timeout', values.timeout, 120, 3600) * 1000,
  };
  const concurrency = countFlag('concurrency', values.concurrency, 4, 64);
  await checkProxy(target);
  const { results, constitution } = await runProbes(probes, target, concurrency, scrub);
  const report: RedteamReport = {
    tool: 'tenet redteam',
    url: target.url,
    constitution,
    model: target.model,
    stream: target.stream,
    protocol: target.protocol,
    results,
    summary: summariseRun(results),
  };
  // With the JSON on stdout, the human report is left out.
  writeReport(
    values.json,
    { json: () => `${JSON.stringify(report, null, 2)}\n`, human: () => renderReport(report) },
    'none',
  );
  return report.summary.passed ? 0 : 1;
}

/** Exit 0: every probe as expected; 1: a probe missed, over-blocked or failed; 2: usage or connection errors. */
export const redteamCommand = defineCommand({ name: 'redteam', faultExit: 2, options, run: redteam });
