// Interleaved A/B of Tenet builds for performance work: pass-through throughput and CPU per request, by thread,
// of each variant against the floor, window by window in the same rounds (this machine's speed moves by tens of
// percent between runs, far more than most changes: only figures taken side by side compare).
//
//   npx tsx bench/ab.ts [--rounds 6] [--mode stream|json] [--connections 10] VARIANT...
//
// VARIANT is NAME[@CHECKOUT][,KEY=VALUE...]: `shipped`, `nolog,TENET_LOG=off`, `before@/tmp/wt-before` (a git
// worktree of the commit to compare, with this checkout's node_modules linked in). Each runs `tenet serve` on the
// passthrough constitution, as `npm run bench` does.
import { parseArgs } from 'node:util';
import { startUpstream } from '../test/upstream/server.ts';
import { LoadClient, type Mode, percentile } from './load.ts';
import {
  benchClientKey,
  benchUpstreamKey,
  type ProxyTarget,
  startFloor,
  startTenetNode,
  threadCpuMs,
} from './targets.ts';

interface Variant {
  name: string;
  checkout?: string;
  env: Record<string, string>;
}

/** `NAME[@CHECKOUT][,KEY=VALUE...]`. */
function parseVariant(spec: string): Variant {
  const [head = '', ...pairs] = spec.split(',');
  const at = head.indexOf('@');
  const name = at === -1 ? head : head.slice(0, at);
  if (!/^[\w.-]+$/.test(name)) throw new Error(`variant "${spec}": a name of letters, digits, . _ -`);
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`variant "${spec}": "${pair}" is not KEY=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { name, ...(at === -1 ? {} : { checkout: head.slice(at + 1) }), env };
}

/** CPU (ms) of a target's processes, split into their main threads and every other thread. */
function cpuByThread(target: ProxyTarget): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const pid of target.workers()) {
    for (const [thread, ms] of threadCpuMs(pid)) {
      if (thread === 'main') main += ms;
      else others += ms;
    }
  }
  return { main, others };
}

async function main(): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '6' },
      mode: { type: 'string', default: 'stream' },
      connections: { type: 'string', default: '10' },
      window: { type: 'string', default: '1500' },
    },
  });
  const rounds = Number(flags.rounds);
  const connections = Number(flags.connections);
  const windowMs = Number(flags.window);
  const mode = flags.mode as Mode;
  if (mode !== 'stream' && mode !== 'json') throw new Error('--mode: stream or json');
  if (positionals.length === 0)
    throw new Error('name at least one variant, e.g. `shipped nolog,TENET_LOG=off`');
  const variants = positionals.map(parseVariant);

  const upstream = await startUpstream();
  const targets: ProxyTarget[] = [];
  try {
    const settings = {
      upstreamUrl: `${upstream.url}/v1`,
      upstreamKey: benchUpstreamKey,
      clientKey: benchClientKey,
    };
    targets.push(await startFloor(upstream.url));
    for (const v of variants) targets.push(await startTenetNode(settings, v.env, v.name, v.checkout));
    // Per target: its client, each round's rate, and the CPU of its measured windows.
    const runs = targets.map((target) => ({
      target,
      client: new LoadClient(target.name, target.url, benchClientKey),
      rates: [] as number[],
      requests: 0,
      main: 0,
      others: 0,
    }));
    for (const { client } of runs) {
      await client.prime(mode, connections);
      await client.window(mode, connections, windowMs);
    }
    for (let round = 0; round < rounds; round++) {
      for (const run of runs) {
        const before = cpuByThread(run.target);
        const w = await run.client.window(mode, connections, windowMs);
        const after = cpuByThread(run.target);
        run.rates.push((w.requests / w.elapsedMs) * 1000);
        run.requests += w.requests;
        run.main += after.main - before.main;
        run.others += after.others - before.others;
      }
    }
    const floorRates = runs[0]?.rates ?? [];
    console.log(
      `${mode}, ${connections} connections, ${rounds} rounds of ${windowMs} ms; ` +
        'throughput as % of the floor in the same round; CPU in µs per request',
    );
    console.log('target          req/s  vs floor  per round                  cpu   main  others');
    for (const run of runs) {
      const ratios = run.rates.map((r, k) => (100 * r) / (floorRates[k] as number));
      const us = (ms: number) => ((ms * 1000) / run.requests).toFixed(0).padStart(5);
      const perRound = ratios.map((r) => r.toFixed(0)).join(' ');
      console.log(
        `${run.target.name.padEnd(14)} ${percentile([...run.rates], 50)
          .toFixed(0)
          .padStart(6)}  ` +
          `${percentile([...ratios], 50)
            .toFixed(0)
            .padStart(6)} %  ${perRound.padEnd(25)} ` +
          `${us(run.main + run.others)}  ${us(run.main)}  ${us(run.others)}`,
      );
    }
    for (const { client } of runs) await client.close();
    return 0;
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
    await upstream.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
