// Bundles the `tenet` command (src/cli/main.ts) into one JavaScript file with esbuild: dependencies stay in
// node_modules. `tenet serve` runs it (bin/tenet.mjs), and so do the Node-side tests (test/cli-bundle.ts).
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

/**
 * Writes the bundle to `outfile` (its folder made if need be), an ES module exporting main() whose top level runs
 * it when `run` is set. Put it
 * two folders below the root, as the sources are (src/<folder>/): their paths relative to `import.meta.url`
 * (`../../migrations`, `../../redteam/probes.yaml`) then still find the checkout's files.
 */
export async function buildCli(outfile, { run = false } = {}) {
  await build({
    stdin: {
      contents: `export { main } from './src/cli/main.ts';\n${
        run
          ? "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n"
          : ''
      }`,
      resolveDir: root,
      sourcefile: 'tenet-cli.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
}
