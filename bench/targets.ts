// Starts and stops the benchmark's proxies as child processes, and reads their CPU time and peak RSS from /proc.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupAlive } from '../test/process-group.ts';
import { freePort } from '../test/tenet-process.ts';

const root = new URL('..', import.meta.url).pathname;

/** A proxy under test: where it listens, and which processes do its work. */
export interface ProxyTarget {
  name: string;
  url: string;
  /** The processes whose CPU time counts as the proxy's (re-read, since workerd may restart them). */
  workers(): number[];
  /** Other processes of the target that work per request but are not the proxy itself (wrangler's Node). */
  helpers?(): number[];
  stop(): Promise<void>;
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

/** A process's stat, or a thread's (`file`: `/proc/PID/task/TID/stat`, the same format); undefined if it is gone. */
function readStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command: state(3) ppid(4) … utime(14) stime(15).
  const fields = text.slice(close + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { pid, ppid: Number(fields[1]), comm, cpuMs: (ticks * 1000) / clockTicks };
}

/** CPU time (user + system, all threads) of the processes, in ms; a vanished process counts 0. */
export function cpuMsOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) sum += readStat(pid)?.cpuMs ?? 0;
  return sum;
}

/**
 * CPU time (ms) of each thread of a process, keyed `main` for its main thread and by thread id for the others
 * (V8's platform threads, libuv's pool, worker threads such as the SQLite log's); empty if it is gone.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const stat = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (stat) out.set(tid === String(pid) ? 'main' : tid, stat.cpuMs);
  }
  return out;
}

/** Peak resident set size (VmHWM) of a process, in MB; NaN if it is gone. */
export function peakRssMb(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Every live descendant of `pid`, with its command name. */
export function descendants(pid: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.push(stat);
  }
  const out: ProcStat[] = [];
  const parents = new Set([pid]);
  // Bounded: a process tree is never deeper than the number of processes.
  for (let depth = 0; depth < all.length; depth++) {
    const next = all.filter((p) => parents.has(p.ppid) && !out.includes(p));
    if (next.length === 0) break;
    for (const p of next) {
      out.push(p);
      parents.add(p.pid);
    }
  }
  return out;
}

const live = new Map<number, number[]>();

function killHard(pgid: number): void {
  for (const pid of [-pgid, ...(live.get(pgid) ?? []), ...descendants(pgid).map((p) => p.pid)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Last resort on exit: nothing the bench started may outlive it. */
export function killAllSync(): void {
  for (const pgid of live.keys()) killHard(pgid);
  live.clear();
}

/** SIGTERM to the whole process group, SIGKILL after 5 s, then anything of the tree still alive. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined || !live.has(pgid)) return;
  const tree = descendants(pgid).map((p) => p.pid);
  live.set(pgid, [...(live.get(pgid) ?? []), ...tree]);
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // already gone
  }
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
  killHard(pgid);
  live.delete(pgid);
}

/** Spawns in its own process group (so the whole tree can be stopped) and keeps the output's tail for errors. */
function spawnGroup(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd = root,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { cwd, env, detached: true, stdio: 'pipe' });
  if (child.pid === undefined) throw new Error(`could not spawn ${args.join(' ')}`);
  live.set(child.pid, []);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
}

/** Resolves the `url` of the first JSON stdout line whose msg is `msg`; rejects if the child dies or is slow. */
function waitForListening(child: ChildProcess, msg: string, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error('did not start within 30 s')), 30_000);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const record = JSON.parse(line) as { msg?: unknown; url?: unknown };
          if (record.msg === msg && typeof record.url === 'string') {
            cleanup();
            resolve(record.url);
            return;
          }
        } catch {
          // not a log line
        }
      }
    };
    const onExit = (code: number | null) => fail(new Error(`exited (${code}) before listening`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error) => {
      cleanup();
      reject(new Error(`${err.message}; output:\n${output()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The child's environment: this process's, minus any TENET_* of the shell, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TENET_') && k !== 'PORT') env[k] = v;
  return { ...env, ...extra };
}

async function startNodeProcess(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  msg: string,
  cleanup?: () => void,
  cwd?: string,
): Promise<ProxyTarget> {
  const { child, output } = spawnGroup(args, env, cwd);
  try {
    const url = await waitForListening(child, msg, output);
    const pid = child.pid!;
    return {
      name,
      url,
      // The process and any it started (`tenet serve` runs its server in a child: see bin/tenet.mjs).
      workers: () => [pid, ...descendants(pid).map((p) => p.pid)],
      async stop() {
        await stopGroup(child);
        cleanup?.();
      },
    };
  } catch (err) {
    await stopGroup(child);
    cleanup?.();
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/** BENCH_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to the floor and tenet-node, for profiling. */
const nodeFlags = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);

export function startFloor(upstreamOrigin: string): Promise<ProxyTarget> {
  return startNodeProcess(
    'floor',
    [...nodeFlags, '--import', 'tsx', 'bench/floor.ts', upstreamOrigin],
    envWith({}),
    'floor listening',
  );
}

/** The loop section's floor (bench/loop-floor.ts): the cheapest critique loop, for `actions` per principle. */
export function startLoopFloor(
  upstreamBaseUrl: string,
  actions: Record<string, string>,
  refusal: string,
): Promise<ProxyTarget> {
  return startNodeProcess(
    'loop-floor',
    [
      ...nodeFlags,
      '--import',
      'tsx',
      'bench/loop-floor.ts',
      upstreamBaseUrl,
      JSON.stringify(actions),
      refusal,
    ],
    envWith({}),
    'loop floor listening',
  );
}

/** The keys every bench section uses: the clients' key for Tenet, and the one Tenet sends the scripted upstream. */
export const benchClientKey = 'sk-tenet-bench-client-0123456789';
export const benchUpstreamKey = 'sk-bench-upstream-key';

export interface TenetSettings {
  upstreamUrl: string;
  upstreamKey: string;
  clientKey: string;
}

function tenetEnv(s: TenetSettings): Record<string, string> {
  return {
    TENET_UPSTREAM_URL: s.upstreamUrl,
    TENET_UPSTREAM_KEY: s.upstreamKey,
    TENET_API_KEYS: `bench:${s.clientKey}`,
    // The targets are for a constitution with no model-judged principle: the proxy path itself.
    TENET_CONSTITUTION: 'passthrough',
  };
}

/**
 * `extraEnv` overrides the defaults, e.g. a judged constitution for the loop section. `checkout`: another copy of
 * the project to run instead of this one (bench/ab.ts compares commits, each in a git worktree).
 */
export function startTenetNode(
  s: TenetSettings,
  extraEnv: Record<string, string> = {},
  name = 'tenet-node',
  checkout = root,
): Promise<ProxyTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-'));
  const env = envWith({
    ...tenetEnv(s),
    PORT: '0',
    TENET_HOST: '127.0.0.1',
    TENET_DB: join(dir, 'tenet.db'),
    ...extraEnv,
  });
  return startNodeProcess(
    name,
    [...nodeFlags, 'bin/tenet.mjs', 'serve'],
    env,
    'tenet listening',
    () => rmSync(dir, { recursive: true, force: true }),
    checkout,
  );
}

/** `tenet dev` (wrangler dev → workerd); ready once GET /health answers 200. */
export async function startTenetWorkerd(s: TenetSettings): Promise<ProxyTarget> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const env = envWith({
    ...tenetEnv(s),
    WRANGLER_SEND_METRICS: 'false',
    // Keep wrangler off the network: no Request.cf download, no update check in the banner.
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_HIDE_BANNER: 'true',
  });
  const state = mkdtempSync(join(tmpdir(), 'tenet-bench-d1-'));
  const args = [
    'bin/tenet.mjs',
    'dev',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    state,
  ];
  const { child, output } = spawnGroup(args, env);
  const url = `http://127.0.0.1:${port}`;
  const pid = child.pid!;
  const workerd = () => descendants(pid).filter((p) => p.comm === 'workerd');
  try {
    const deadline = Date.now() + 120_000;
    for (let ready = false; !ready; ) {
      if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before /health answered`);
      if (Date.now() > deadline) throw new Error('/health did not answer 200 within 120 s');
      ready = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status === 200;
        },
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    if (workerd().length === 0) throw new Error('no workerd process found under the dev server');
  } catch (err) {
    await stopGroup(child);
    rmSync(state, { recursive: true, force: true });
    throw new Error(`tenet-workerd: ${(err as Error).message}; output:\n${output()}`);
  }
  return {
    name: 'tenet-workerd',
    url,
    workers: () => workerd().map((p) => p.pid),
    helpers: () =>
      descendants(pid)
        .filter((p) => p.comm !== 'workerd')
        .map((p) => p.pid)
        .concat(pid),
    async stop() {
      await stopGroup(child);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
