// Turns the benchmark's raw windows into figures, comparisons and target checks, as text and as JSON.
import { type Mode, percentile } from './load.ts';

/** Everything measured for one (target, mode, connections) cell, summed over the rounds. */
export interface Cell {
  target: string;
  mode: Mode;
  connections: number;
  requests: number;
  elapsedMs: number;
  latencies: number[];
  ttfc: number[];
  chunks: number;
  /** Requests per second of each window (the table shows their median: robust to one noisy window). */
  windowRps: number[];
  /** CPU time of the proxy's processes during the windows (NaN for direct: nothing in between). */
  cpuMs: number;
  /** CPU time of the target's helper processes (wrangler's Node for workerd; NaN when none). */
  helperCpuMs: number;
  /** CPU time of the bench process itself (client + scripted upstream) during the windows. */
  benchCpuMs: number;
}

export interface Figures {
  target: string;
  mode: Mode;
  connections: number;
  requests: number;
  /** Median over the windows; `rpsMean` is all requests over all window time. */
  rps: number;
  rpsMean: number;
  p50: number;
  p99: number;
  ttfcP50: number;
  ttfcP99: number;
  cpuMsPerRequest: number;
  helperCpuMsPerRequest: number;
  benchCpuPercent: number;
  chunksPerRequest: number;
}

export interface Check {
  name: string;
  value: number;
  limit: string;
  pass: boolean;
}

export interface Report {
  figures: Figures[];
  peakRssMb: Record<string, { totalMb: number; processes: number[] }>;
  addedVsDirectMs: Record<string, { json: number; stream: number; streamTtfc: number }>;
  versusFloor: Record<string, { cpuRatio: Record<Mode, number>; throughput10Percent: Record<Mode, number> }>;
  checks: Check[];
  /** Response p50 of tenet-node minus tenet-node-nolog (TENET_LOG=off), at 1 connection. */
  loggingCostMs: { json: number; stream: number };
}

export function figuresOf(cell: Cell): Figures {
  return {
    target: cell.target,
    mode: cell.mode,
    connections: cell.connections,
    requests: cell.requests,
    rps: percentile([...cell.windowRps], 50),
    rpsMean: (cell.requests * 1000) / cell.elapsedMs,
    p50: percentile(cell.latencies, 50),
    p99: percentile(cell.latencies, 99),
    ttfcP50: percentile(cell.ttfc, 50),
    ttfcP99: percentile(cell.ttfc, 99),
    cpuMsPerRequest: cell.cpuMs / cell.requests,
    helperCpuMsPerRequest: cell.helperCpuMs / cell.requests,
    benchCpuPercent: (cell.benchCpuMs * 100) / cell.elapsedMs,
    chunksPerRequest: cell.chunks / cell.requests,
  };
}

const proxies = ['floor', 'tenet-node', 'tenet-node-nolog', 'tenet-workerd'];
const modes: Mode[] = ['json', 'stream'];

export function buildReport(cells: Cell[], peakRssMb: Report['peakRssMb']): Report {
  const figures = cells.map(figuresOf);
  const fig = (target: string, mode: Mode, connections: number) =>
    figures.find((f) => f.target === target && f.mode === mode && f.connections === connections);
  const cpuPerRequest = (target: string, mode: Mode) => {
    const mine = cells.filter((c) => c.target === target && c.mode === mode);
    return mine.reduce((s, c) => s + c.cpuMs, 0) / mine.reduce((s, c) => s + c.requests, 0);
  };
  const added = (target: string, mode: Mode, key: 'p50' | 'ttfcP50') =>
    (fig(target, mode, 1)?.[key] ?? Number.NaN) - (fig('direct', mode, 1)?.[key] ?? Number.NaN);

  const addedVsDirectMs: Report['addedVsDirectMs'] = {};
  const versusFloor: Report['versusFloor'] = {};
  for (const target of proxies) {
    addedVsDirectMs[target] = {
      json: added(target, 'json', 'p50'),
      stream: added(target, 'stream', 'p50'),
      streamTtfc: added(target, 'stream', 'ttfcP50'),
    };
    const cpuRatio = { json: 0, stream: 0 };
    const throughput10Percent = { json: 0, stream: 0 };
    for (const mode of modes) {
      cpuRatio[mode] = cpuPerRequest(target, mode) / cpuPerRequest('floor', mode);
      throughput10Percent[mode] =
        ((fig(target, mode, 10)?.rps ?? Number.NaN) * 100) / (fig('floor', mode, 10)?.rps ?? Number.NaN);
    }
    versusFloor[target] = { cpuRatio, throughput10Percent };
  }

  const node = 'tenet-node';
  const checks: Check[] = [];
  for (const mode of modes) {
    const value = addedVsDirectMs[node]?.[mode] ?? Number.NaN;
    checks.push({ name: `added p50 at 1 conn, ${mode}`, value, limit: '<= 0.5 ms', pass: value <= 0.5 });
  }
  for (const mode of modes) {
    const value = versusFloor[node]?.cpuRatio[mode] ?? Number.NaN;
    checks.push({ name: `CPU per request vs floor, ${mode}`, value, limit: '<= 1.5x', pass: value <= 1.5 });
  }
  for (const mode of modes) {
    const value = versusFloor[node]?.throughput10Percent[mode] ?? Number.NaN;
    checks.push({
      name: `throughput at 10 conns vs floor, ${mode}`,
      value,
      limit: '>= 80 %',
      pass: value >= 80,
    });
  }
  // Logging on vs off: the same Node server with TENET_LOG=off (target: no difference in response latency).
  const p50 = (target: string, mode: Mode) => fig(target, mode, 1)?.p50 ?? Number.NaN;
  const loggingCostMs = {
    json: p50(node, 'json') - p50('tenet-node-nolog', 'json'),
    stream: p50(node, 'stream') - p50('tenet-node-nolog', 'stream'),
  };
  return { figures, peakRssMb, addedVsDirectMs, versusFloor, checks, loggingCostMs };
}

export const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const signed = (v: number, digits: number) => (v >= 0 ? '+' : '') + num(v, digits);

/** A plain-text table: the first `leftColumns` columns left-aligned, the figures right-aligned. */
export function table(header: string[], rows: string[][], leftColumns = 3): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(report: Report): string {
  const out: string[] = [];
  out.push(
    table(
      [
        'target',
        'mode',
        'conns',
        'req/s',
        'p50 ms',
        'p99 ms',
        'ttfc p50',
        'ttfc p99',
        'cpu ms/req',
        'bench cpu%',
      ],
      report.figures.map((f) => [
        f.target,
        f.mode,
        String(f.connections),
        num(f.rps, 0),
        num(f.p50, 3),
        num(f.p99, 3),
        f.mode === 'stream' ? num(f.ttfcP50, 3) : '',
        f.mode === 'stream' ? num(f.ttfcP99, 3) : '',
        num(f.cpuMsPerRequest, 3),
        num(f.benchCpuPercent, 0),
      ]),
    ),
  );
  out.push(
    '(cpu ms/req: the proxy processes only (for workerd: the workerd processes); bench cpu%: client +',
    ' scripted upstream, one Node process)',
  );
  for (const f of report.figures) {
    if (Number.isFinite(f.helperCpuMsPerRequest)) {
      out.push(
        `  + ${f.target} ${f.mode} ${f.connections}: wrangler's Node processes add ` +
          `${num(f.helperCpuMsPerRequest, 3)} ms CPU per request`,
      );
    }
  }
  out.push('', 'peak RSS (VmHWM):');
  for (const [target, rss] of Object.entries(report.peakRssMb)) {
    const parts = rss.processes.length > 1 ? ` (${rss.processes.map((p) => num(p, 1)).join(' + ')})` : '';
    out.push(`  ${target.padEnd(14)} ${num(rss.totalMb, 1)} MB${parts}`);
  }
  out.push('', 'added latency vs direct, p50 at 1 connection:');
  for (const [target, a] of Object.entries(report.addedVsDirectMs)) {
    out.push(
      `  ${target.padEnd(14)} json ${signed(a.json, 3)} ms   stream ${signed(a.stream, 3)} ms` +
        `   (stream first chunk ${signed(a.streamTtfc, 3)} ms)`,
    );
  }
  out.push('', 'versus the floor (CPU per request ratio; throughput at 10 connections as % of floor):');
  for (const [target, v] of Object.entries(report.versusFloor)) {
    if (target === 'floor') continue;
    out.push(
      `  ${target.padEnd(14)} cpu json ${num(v.cpuRatio.json, 2)}x  stream ${num(v.cpuRatio.stream, 2)}x` +
        `   throughput json ${num(v.throughput10Percent.json, 0)} %  stream ${num(v.throughput10Percent.stream, 0)} %`,
    );
  }
  out.push(
    '',
    `logging on vs off (tenet-node minus tenet-node-nolog, p50 at 1 connection): json ` +
      `${signed(report.loggingCostMs.json, 3)} ms   stream ${signed(report.loggingCostMs.stream, 3)} ms ` +
      '(target: no difference; the record is written after the response)',
  );
  out.push('', 'targets for tenet-node:');
  for (const c of report.checks) {
    const unit = c.limit.endsWith('ms') ? ' ms' : c.limit.endsWith('%') ? ' %' : 'x';
    out.push(
      `  ${c.pass ? 'PASS' : 'MISS'}  ${c.name.padEnd(38)} ${num(c.value, 2)}${unit}  (target ${c.limit})`,
    );
  }
  return out.join('\n');
}
