// `npm run bench`: Tenet's proxy overhead on Node and workerd against direct calls and a minimal fetch proxy,
// then what the critique loop costs per request (`--loop-only` runs just that section), then the log store's
// queries over a million violation rows (`--store-only` runs just that). `--streaming-only` runs just the
// streaming section (a long answer's first text and last byte per stream mode). `--proxy-only` runs just the Node proxy
// figures (direct, floor, tenet-node, tenet-node-nolog: no workerd, no loop, no store), for quick comparisons.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createPostgresDatabase, startEmbeddedPostgres } from '../test/embedded-postgres.ts';
import { startUpstream, type Upstream } from '../test/upstream/server.ts';
import { LoadClient, type Mode } from './load.ts';
import { runLoopBench } from './loop.ts';
import { formatLoopReport, type LoopReport } from './loop-report.ts';
import { buildReport, type Cell, formatReport, type Report } from './report.ts';
import { formatStoreReport, runStoreBench, type StoreReport } from './store.ts';
import { formatStreamingReport, runStreamingBench, type StreamingReport } from './streaming.ts';
import {
  benchClientKey as clientKey,
  cpuMsOf,
  killAllSync,
  type ProxyTarget,
  peakRssMb,
  startFloor,
  startTenetNode,
  startTenetWorkerd,
  benchUpstreamKey as upstreamKey,
} from './targets.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'loop-only': { type: 'boolean', default: false },
    'store-only': { type: 'boolean', default: false },
    // The store section's Postgres run at another size (e.g. 10000000), besides the 1M run on both engines.
    'store-pg-violations': { type: 'string' },
    'proxy-only': { type: 'boolean', default: false },
    // Just the streaming section: time to first text and last byte per stream mode for a long answer.
    'streaming-only': { type: 'boolean', default: false },
    // More rounds: steadier medians on a busy machine (each round is 1.5 s per target and shape).
    rounds: { type: 'string' },
    json: { type: 'string' },
  },
});
const plan = flags.quick
  ? { rounds: 1, windowMs: 300, warmupMs: 300 }
  : { rounds: 5, windowMs: 1500, warmupMs: 2000 };
if (flags.rounds !== undefined) {
  const rounds = Number(flags.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds: a whole number >= 1, not ${flags.rounds}`);
  plan.rounds = rounds;
}

const shapes: { mode: Mode; connections: number }[] = [
  { mode: 'json', connections: 1 },
  { mode: 'json', connections: 10 },
  { mode: 'stream', connections: 1 },
  { mode: 'stream', connections: 10 },
];

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** The answers must be the scripted echo, through every path, before anything is timed. */
async function checkAnswers(target: ProxyTarget, client: LoadClient): Promise<void> {
  const json = JSON.parse((await client.once('json', 1)) ?? '') as {
    choices?: { message?: { content?: string } }[];
  };
  if (!json.choices?.[0]?.message?.content?.startsWith('echo: ')) {
    throw new Error(`${target.name}: unexpected JSON answer ${JSON.stringify(json).slice(0, 300)}`);
  }
  const stream = (await client.once('stream', 1)) ?? '';
  if (!stream.includes('echo:') || !stream.endsWith('data: [DONE]\n\n')) {
    throw new Error(`${target.name}: unexpected stream ${stream.slice(0, 300)}`);
  }
}

async function measure(targets: ProxyTarget[]): Promise<Cell[]> {
  const clients = new Map(targets.map((t) => [t.name, new LoadClient(t.name, t.url, clientKey)]));
  const client = (t: ProxyTarget) => clients.get(t.name)!;
  try {
    for (const t of targets) await checkAnswers(t, client(t));
    log(`warming up (${plan.warmupMs} ms per target and shape)`);
    for (const t of targets) {
      for (const s of shapes) await client(t).window(s.mode, s.connections, plan.warmupMs / shapes.length);
    }
    const cells = new Map<string, Cell>();
    for (let round = 0; round < plan.rounds; round++) {
      log(`round ${round + 1}/${plan.rounds}`);
      for (const [i, s] of shapes.entries()) {
        // Rotate the order so no target always runs right after the same neighbour.
        const shift = (round + i) % targets.length;
        for (const t of [...targets.slice(shift), ...targets.slice(0, shift)]) {
          await client(t).prime(s.mode, s.connections);
          const helpers = t.helpers?.() ?? [];
          const cpu0 = cpuMsOf(t.workers());
          const helper0 = cpuMsOf(helpers);
          const bench0 = process.cpuUsage();
          const w = await client(t).window(s.mode, s.connections, plan.windowMs);
          const bench = process.cpuUsage(bench0);
          const cpu = t.name === 'direct' ? Number.NaN : cpuMsOf(t.workers()) - cpu0;
          const helperCpu = helpers.length === 0 ? Number.NaN : cpuMsOf(helpers) - helper0;
          const key = `${t.name}|${s.mode}|${s.connections}`;
          const cell = cells.get(key) ?? {
            target: t.name,
            mode: s.mode,
            connections: s.connections,
            requests: 0,
            elapsedMs: 0,
            latencies: [],
            ttfc: [],
            chunks: 0,
            windowRps: [],
            cpuMs: 0,
            helperCpuMs: 0,
            benchCpuMs: 0,
          };
          cell.requests += w.requests;
          cell.elapsedMs += w.elapsedMs;
          for (const v of w.latencies) cell.latencies.push(v);
          for (const v of w.ttfc) cell.ttfc.push(v);
          cell.chunks += w.chunks;
          cell.windowRps.push((w.requests * 1000) / w.elapsedMs);
          cell.cpuMs += cpu;
          cell.helperCpuMs += helperCpu;
          cell.benchCpuMs += (bench.user + bench.system) / 1000;
          cells.set(key, cell);
        }
      }
    }
    // Table order: by target, then shape.
    return targets.flatMap((t) =>
      shapes.map((s) => cells.get(`${t.name}|${s.mode}|${s.connections}`)).filter((c) => c !== undefined),
    );
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
}

/** Runs one section: its report, printed with `format`, and how long it took. */
async function timed<R>(
  name: string,
  run: () => Promise<R>,
  format: (report: R) => string,
): Promise<{ report: R; seconds: number }> {
  const started = performance.now();
  const report = await run();
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${format(report)}`);
  console.log(`\n${name} section${flags.quick ? ' (quick)' : ''}: took ${seconds.toFixed(0)} s`);
  return { report, seconds };
}

/** The loop section on `upstream`: what each verdict costs beyond its model calls. */
async function loopSection(upstream: Upstream): Promise<{ loop: LoopReport; loopSeconds: number }> {
  const opts = { upstreamUrl: upstream.url, quick: flags.quick, log };
  const { report, seconds } = await timed('loop', () => runLoopBench(opts), formatLoopReport);
  return { loop: report, loopSeconds: seconds };
}

/** The streaming section on `upstream`: a long answer's first text and last byte per stream mode. */
async function streamingSection(
  upstream: Upstream,
): Promise<{ streaming: StreamingReport; streamingSeconds: number }> {
  const opts = { upstreamUrl: upstream.url, quick: flags.quick, log };
  const { report, seconds } = await timed('streaming', () => runStreamingBench(opts), formatStreamingReport);
  return { streaming: report, streamingSeconds: seconds };
}

async function streamingOnly(): Promise<number> {
  const upstream = await startUpstream();
  try {
    const out = await streamingSection(upstream);
    if (flags.json)
      writeFileSync(flags.json, `${JSON.stringify({ ...out, node: process.version }, null, 2)}\n`);
    return 0;
  } finally {
    killAllSync();
    await upstream.close();
  }
}

/**
 * The store section: a temp SQLite file, then a throwaway Postgres server (durable, as in production), the same
 * records and queries on each; prints each table beside the targets.
 */
async function storeSection(): Promise<{ store: StoreReport; stores: StoreReport[] }> {
  const quick = flags.quick;
  const sqlite = await runStoreBench({ quick, log, backend: 'sqlite' });
  console.log(`\n${formatStoreReport(sqlite, quick)}`);
  const stores = [sqlite];
  const server = await startEmbeddedPostgres({ durable: true });
  try {
    const sizes = [
      undefined,
      ...(flags['store-pg-violations'] ? [Number(flags['store-pg-violations'])] : []),
    ];
    for (const violations of sizes) {
      const postgresUrl = await createPostgresDatabase(server.url, 'bench');
      const report = await runStoreBench({
        quick,
        log,
        backend: 'postgres',
        postgresUrl,
        ...(violations ? { violations } : {}),
      });
      console.log(`\n${formatStoreReport(report, quick)}`);
      stores.push(report);
    }
  } finally {
    await server.stop();
  }
  return { store: sqlite, stores };
}

async function storeOnly(): Promise<number> {
  const out = await storeSection();
  if (flags.json) {
    const json = { ...out, quick: flags.quick, node: process.version };
    writeFileSync(flags.json, `${JSON.stringify(json, null, 2)}\n`);
  }
  return 0;
}

async function loopOnly(): Promise<number> {
  const upstream = await startUpstream();
  try {
    const out = await loopSection(upstream);
    if (flags.json) {
      const json = { ...out, quick: flags.quick, node: process.version };
      writeFileSync(flags.json, `${JSON.stringify(json, null, 2)}\n`);
    }
    return 0;
  } finally {
    killAllSync();
    await upstream.close();
  }
}

async function main(): Promise<number> {
  if (flags['loop-only']) return loopOnly();
  if (flags['store-only']) return storeOnly();
  if (flags['streaming-only']) return streamingOnly();
  const started = performance.now();
  let upstream: Upstream | undefined;
  const proxies: ProxyTarget[] = [];
  try {
    upstream = await startUpstream();
    const settings = { upstreamUrl: `${upstream.url}/v1`, upstreamKey, clientKey };
    const proxyOnly = flags['proxy-only'];
    log(
      `scripted upstream on ${upstream.url}; starting floor, tenet-node, tenet-node-nolog` +
        (proxyOnly ? '' : ', tenet-workerd'),
    );
    const starts = await Promise.allSettled([
      startFloor(upstream.url),
      startTenetNode(settings),
      // The same Node server with TENET_LOG=off: what recording every request costs the response.
      startTenetNode(settings, { TENET_LOG: 'off' }, 'tenet-node-nolog'),
      ...(proxyOnly ? [] : [startTenetWorkerd(settings)]),
    ]);
    for (const s of starts) if (s.status === 'fulfilled') proxies.push(s.value);
    const failed = starts.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    log(`started in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const direct: ProxyTarget = {
      name: 'direct',
      url: upstream.url,
      workers: () => [],
      stop: async () => {},
    };
    const cells = await measure([direct, ...proxies]);

    const rss: Report['peakRssMb'] = {};
    for (const p of proxies) {
      const each = p.workers().map(peakRssMb);
      rss[p.name] = { totalMb: each.reduce((a, b) => a + b, 0), processes: each };
    }
    const report = buildReport(cells, rss);
    const seconds = (performance.now() - started) / 1000;
    console.log(formatReport(report));
    console.log(
      `\n${flags.quick ? 'quick run' : 'run'}: ${plan.rounds} rounds x ${plan.windowMs} ms windows, ` +
        `interleaved; took ${seconds.toFixed(0)} s`,
    );
    // The idle proxies would only compete for CPU with the loop section's Tenet.
    await Promise.all(proxies.map((p) => p.stop()));
    if (proxyOnly) {
      if (flags.json) {
        const out = { ...report, plan, quick: flags.quick, seconds, node: process.version };
        writeFileSync(flags.json, `${JSON.stringify(out, null, 2)}\n`);
      }
      return 0;
    }
    const loop = await loopSection(upstream);
    const streaming = await streamingSection(upstream);
    const store = await storeSection();
    if (flags.json) {
      const out = {
        ...report,
        plan,
        quick: flags.quick,
        seconds,
        node: process.version,
        ...loop,
        ...streaming,
        ...store,
      };
      writeFileSync(flags.json, `${JSON.stringify(out, null, 2)}\n`);
    }
    return 0;
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    killAllSync();
    await upstream?.close();
  }
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
