// `tenet dev` (what `npm start` runs): validates the settings, then runs the Worker under wrangler dev.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { bundleDigest, bundlePath, devBundledVariable } from '../../bin/bundle-stamp.mjs';
import { ConfigError, configWarnings, parseConfig } from '../core/config.ts';
import { checkPortFree, portInUseMessage } from '../entry/port-in-use.ts';
import { bundleConstitutions, keepLastGoodVariable } from './bundle.ts';
import { applyLocalD1Migrations } from './d1-migrations.ts';
import { createWorkerdLogFilter } from './workerd-log.ts';

const devVarsFile = '.dev.vars';
// One file per run, so two `tenet dev` in one checkout (tests, the benchmark) never share one.
const processVarsFile = join('.wrangler', 'tenet', `process-${process.pid}.env`);

/**
 * Settings from the env files (`--env-file`, else .dev.vars), overridden by TENET_* variables of the calling shell
 * (so CI and tests can set them).
 */
function collectSettings(files: readonly string[]): {
  fromFile: Record<string, string>;
  fromProcess: Record<string, string>;
} {
  const fromFile: Record<string, string> = {};
  for (const file of files) {
    if (!existsSync(file)) throw new ConfigError([`--env-file ${file}: no such file`]);
    Object.assign(fromFile, parseEnv(readFileSync(file, 'utf8')));
  }
  const fromProcess: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('TENET_') && v !== undefined) fromProcess[k] = v;
  return { fromFile, fromProcess };
}

function hasFlag(args: string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/** The value of `--flag V` or `--flag=V` in wrangler's arguments. */
function flagValue(args: string[], flag: string): string | undefined {
  const at = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (at === -1) return undefined;
  const arg = args[at] ?? '';
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1];
}

/** A free TCP port on 127.0.0.1, as the OS hands it out. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Runs wrangler dev; `files` (from `--env-file`) replace .dev.vars as the settings file. */
export async function runWranglerDev(args: string[], files: readonly string[] = []): Promise<number> {
  const settingsFiles = files.length > 0 ? files : existsSync(devVarsFile) ? [devVarsFile] : [];
  const { fromFile, fromProcess } = collectSettings(settingsFiles);
  const config = parseConfig({ ...fromFile, ...fromProcess });
  for (const w of configWarnings(config)) console.warn(`tenet: warning: ${w}`);

  // A taken port is said plainly before wrangler starts (wrangler's own message is a stack trace).
  const host = flagValue(args, '--ip') ?? '127.0.0.1';
  const port = Number(flagValue(args, '--port') ?? (process.env['PORT'] || 8787));
  try {
    await checkPortFree(host, port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    console.error(`tenet: cannot start, ${await portInUseMessage(host, port, 'workers')}`);
    return 1;
  }

  // wrangler dev reads .dev.vars itself unless given env files; shell variables reach the Worker only through one.
  const envFiles: string[] = [];
  for (const file of settingsFiles) envFiles.push('--env-file', resolve(file));
  if (Object.keys(fromProcess).length > 0) {
    mkdirSync(join('.wrangler', 'tenet'), { recursive: true });
    const text = Object.entries(fromProcess)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(processVarsFile, `${text}\n`, { mode: 0o600 });
    process.on('exit', () => rmSync(processVarsFile, { force: true }));
    envFiles.push('--env-file', processVarsFile);
  }

  const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
  const env: NodeJS.ProcessEnv = {
    // Offline-friendly defaults: no metrics, no Request.cf download (a placeholder is used instead).
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    ...process.env,
    // wrangler's build command (`tenet bundle`) keeps the last good constitutions on a broken edit.
    [keepLastGoodVariable]: '1',
  };
  // The log's migrations first, on the same local D1 state wrangler dev will use.
  try {
    const applied = await applyLocalD1Migrations({
      persistTo: flagValue(args, '--persist-to'),
      configPath: flagValue(args, '--config') ?? flagValue(args, '-c'),
    });
    if (applied.length > 0)
      console.log(`tenet: applied ${applied.length} log migration(s) to the local D1: ${applied.join(', ')}`);
  } catch (err) {
    console.error(`tenet: applying the D1 migrations of the log failed: ${(err as Error).message}`);
    return 1;
  }
  // The constitutions bundled here, in this process: wrangler's build command (run twice at start, see
  // bin/bundle-stamp.mjs) then finds the bundle current. Should this fail, the build command bundles as before.
  try {
    await bundleConstitutions('constitutions', bundlePath, true);
    // The digest of the files as bundled (the stamp), not read again: an edit meanwhile then rebuilds.
    const digest = bundleDigest(bundlePath);
    if (digest) env[devBundledVariable] = digest;
  } catch {
    // wrangler's build command reports it
  }
  const defaults = [
    ...(hasFlag(args, '--ip') ? [] : ['--ip', '127.0.0.1']),
    ...(hasFlag(args, '--port') ? [] : ['--port', String(port)]),
    // wrangler picks another devtools port at start when 9229 is taken, but asks for 9229 again on every rebuild
    // (a constitution edit) and dies if another dev server holds it: a port of its own, unless one is given.
    ...(hasFlag(args, '--inspector-port') ? [] : ['--inspector-port', String(await freePort())]),
    '--show-interactive-dev-session=false',
  ];
  const child = spawn(process.execPath, [wrangler, 'dev', ...defaults, ...envFiles, ...args], {
    stdio: ['inherit', 'pipe', 'pipe'],
    // Piped output keeps wrangler's colours when Tenet's own goes to a terminal.
    env: process.stdout.isTTY ? { FORCE_COLOR: '1', ...env } : env,
  });
  // One failed upstream call is one line: workerd's internal-error dumps fold into the line naming their id.
  const summaries = new Map<string, string>();
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    const filter = createWorkerdLogFilter((text) => to.write(text), summaries);
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => filter.push(chunk));
    from.on('end', () => filter.end());
  }
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return await new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
  });
}
