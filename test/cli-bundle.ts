// The `tenet` command the Node-side tests spawn: src/cli/main.ts bundled once per run (esbuild, dependencies left
// to node_modules), so each of the suite's hundred-odd spawns starts in a fraction of the CPU time of
// bin/tenet.mjs, which compiles the TypeScript through tsx in every process. The same code, split by command as
// tsx loads it (a `tenet logs` never loads the server's packages); bin/tenet.mjs itself is what the first-run
// suites and test/node/cli.test.ts spawn.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildCli } from '../bin/build-cli.mjs';

const root = new URL('..', import.meta.url).pathname;

/**
 * Where the bundle lives: two folders below the root, like the sources it is built from, so their paths relative
 * to `import.meta.url` (`../../migrations`, `../../redteam/probes.yaml`) still find the checkout's files.
 */
const folder = join(root, '.tenet', 'test-cli');
export const cliBundle = join(folder, 'tenet.mjs');

/**
 * Builds the bundle (the global setup calls this once per test project). It is built beside its folder, then
 * moved in file by file, the entry last: chunk names carry their content's hash, so a process starting meanwhile
 * finds either the old entry and its chunks or the new ones. Chunks of earlier builds go once an hour old.
 */
export async function buildCliBundle(): Promise<void> {
  const staging = join(root, '.tenet', `test-cli-${process.pid}-${Date.now()}`);
  try {
    const files = await buildCli(join(staging, 'tenet.mjs'), { run: true, split: true });
    mkdirSync(folder, { recursive: true });
    for (const file of files) renameSync(file, join(folder, basename(file)));
    const current = new Set(files.map((f) => basename(f)));
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (!current.has(name) && Date.now() - statSync(path).mtimeMs > 3_600_000)
        rmSync(path, { force: true });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
