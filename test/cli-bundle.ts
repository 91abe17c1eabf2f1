// The `tenet` command the Node-side tests spawn: src/cli/main.ts bundled once per run (esbuild, dependencies left
// to node_modules), so each of the suite's hundred-odd spawns starts in about half the CPU time of bin/tenet.mjs,
// which compiles the TypeScript through tsx in every process. The same code; bin/tenet.mjs itself is what the
// first-run suites and test/node/cli.test.ts spawn.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { buildCli } from '../bin/build-cli.mjs';

const root = new URL('..', import.meta.url).pathname;

/**
 * Where the bundle lives: two folders below the root, like the sources it is built from, so their paths relative
 * to `import.meta.url` (`../../migrations`, `../../redteam/probes.yaml`) still find the checkout's files.
 */
export const cliBundle = join(root, '.tenet', 'test-cli', 'tenet.mjs');

/** Builds the bundle (the global setup calls this once per test project; the write is atomic). */
export async function buildCliBundle(): Promise<void> {
  const temp = `${cliBundle}.${process.pid}.tmp`;
  await buildCli(temp, { run: true });
  renameSync(temp, cliBundle);
}
