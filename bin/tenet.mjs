#!/usr/bin/env node
// The `tenet` executable. Commands run the TypeScript sources through tsx, so a fresh clone needs no build step.
// `tenet serve`, the long-running proxy, runs them compiled instead: esbuild bundles them at start (about 0.2 s)
// into plain JavaScript, without tsx's costs on every request (its loader, and the `__name` call it wraps around
// each function a request creates).
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);

/** main() of src/cli/main.ts, bundled: the bundle is written, imported and removed (each start its own file). */
async function compiledMain() {
  const { buildCli } = await import('./build-cli.mjs');
  const out = fileURLToPath(
    new URL(`../.tenet/serve/serve-${process.pid}-${Date.now()}.mjs`, import.meta.url),
  );
  await buildCli(out);
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

/** serve: compiled, or through tsx where the bundle cannot be written (a read-only install) — slower, but up. */
async function serveMain() {
  try {
    return await compiledMain();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    console.error(
      JSON.stringify({
        level: 'warn',
        time: new Date().toISOString(),
        msg: `could not compile the sources into .tenet/serve (${why}); serving them through tsx, which costs more CPU a request`,
      }),
    );
    return sourceMain();
  }
}

const main = args[0] === 'serve' ? await serveMain() : await sourceMain();
process.exitCode = await main(args);
