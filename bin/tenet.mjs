#!/usr/bin/env node
// The `tenet` executable. Commands run the TypeScript sources through tsx, so a fresh clone needs no build step.
// The long-running ones run them compiled instead: esbuild bundles them at start (about 0.2 s) into plain
// JavaScript. `tenet serve` (the proxy) so escapes tsx's costs on every request (its loader, and the `__name` call
// it wraps around each function a request creates); `tenet dev` (`npm start`) loads wrangler and miniflare, whose
// megabytes of CommonJS cost seconds of CPU more through tsx's loader hooks.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleIsCurrent, bundlePath } from './bundle-stamp.mjs';

const args = process.argv.slice(2);

/** main() of src/cli/main.ts, bundled: the bundle is written, imported and removed (each start its own file). */
async function compiledMain() {
  const { buildCli } = await import('./build-cli.mjs');
  const out = fileURLToPath(
    new URL(`../.tenet/serve/${args[0]}-${process.pid}-${Date.now()}.mjs`, import.meta.url),
  );
  await buildCli(out);
  if (args[0] === 'serve') {
    // esbuild's service process would otherwise stay up beside the server for good (~40 MB, doing nothing).
    await (await import('esbuild')).stop();
  }
  try {
    return (await import(out)).main;
  } finally {
    rmSync(out, { force: true });
  }
}

async function sourceMain() {
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../src/cli/main.ts')).main;
}

/** Compiled, or through tsx where the bundle cannot be written (a read-only install): slower, but up. */
async function compiledOrSourceMain() {
  try {
    return await compiledMain();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    console.error(
      JSON.stringify({
        level: 'warn',
        time: new Date().toISOString(),
        msg: `could not compile the sources into .tenet/serve (${why}); running them through tsx, which costs more CPU`,
      }),
    );
    return sourceMain();
  }
}

// wrangler dev's build command, when `tenet dev` has just bundled these very constitutions (see bundle-stamp.mjs).
if (args[0] === 'bundle' && bundleIsCurrent(args[1] ?? 'constitutions', bundlePath)) {
  console.log('tenet bundle: the constitutions are as tenet dev bundled them');
  process.exit(0);
}

/**
 * `tenet serve` runs in a node whose young generation is sized for a proxy: each answer allocates ~160 KB that
 * lives for milliseconds, and with V8's default semi-spaces (16 MB) the scavenges that copy the requests in
 * flight cost ~90 µs of CPU per streamed answer; with 64 MB ones, under half (`npm run bench`). V8 reads the size
 * at start only, so a serve started without it (`node bin/tenet.mjs serve`, `npx tenet serve`) starts itself again
 * with it, as a child it forwards its stop signals to. Set the flag yourself (node's options or NODE_OPTIONS) to
 * choose another size, or none of this.
 */
const youngGeneration = '--max-semi-space-size';
const servingFlags = [`${youngGeneration}=64`];
// V8 takes its flags with dashes or underscores (`--max_semi_space_size`).
const sized = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((f) =>
  f.replaceAll('_', '-').startsWith(youngGeneration),
);
if (args[0] === 'serve' && !sized) {
  const { spawn } = await import('node:child_process');
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, ...servingFlags, script, ...args], {
    stdio: 'inherit',
  });
  // A signal to this process alone (docker stop, kill PID) reaches the server; one sent to the whole group (Ctrl-C)
  // reaches it twice, which it takes as one.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`tenet serve: could not start node: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
  });
} else {
  const compiled = new Set(['serve', 'dev']);
  const main = compiled.has(args[0] ?? '') ? await compiledOrSourceMain() : await sourceMain();
  process.exitCode = await main(args);
}
