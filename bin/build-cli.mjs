// Bundles the `tenet` command (src/cli/main.ts) with esbuild: dependencies stay in node_modules. `tenet serve` and
// `tenet dev` run it (bin/tenet.mjs), and so do the Node-side tests (test/cli-bundle.ts).
import { basename, dirname, resolve } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

/**
 * Writes the bundle to `outfile` (its folder made if need be), an ES module exporting main() whose top level runs
 * it when `run` is set. Put it two folders below the root, as the sources are (src/<folder>/): their paths
 * relative to `import.meta.url` (`../../migrations`, `../../redteam/probes.yaml`) then still find the checkout's
 * files.
 *
 * With `split`, each command's code (and the packages only it imports) goes to chunks beside `outfile`, loaded
 * when the command runs, as tsx loads them: a short command then skips the server's packages. Returns the files
 * written (`outfile` last).
 */
export async function buildCli(outfile, { run = false, split = false } = {}) {
  const result = await build({
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
    ...(split
      ? {
          outdir: dirname(outfile),
          splitting: true,
          entryNames: basename(outfile, '.mjs'),
          chunkNames: '[name]-[hash]',
          outExtension: { '.js': '.mjs' },
        }
      : { outfile }),
    metafile: true,
    logLevel: 'warning',
  });
  // The metafile names outputs relative to the working directory.
  const written = Object.keys(result.metafile.outputs).map((f) => resolve(f));
  return [...written.filter((f) => f !== outfile), outfile];
}
