// Two test projects: the app inside workerd (the Workers runtime), and Node-side tests (CLI, end-to-end).

import { relative } from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds a file takes when this checkout has not run it yet (a fresh clone, CI): by the tier it belongs to. */
const priorSeconds: [RegExp, number][] = [
  [/^test\/first-run\//, 45],
  [/^test\/e2e\//, 30],
  [/^test\/(node|browser)\//, 12],
  [/^test\/worker\//, 3],
];

/**
 * Longest first across all projects (vitest's own order runs the projects one after another, so the workerd
 * files, one of them waiting out a 20 s retry window, ran last on their own). The workerd project's files share
 * one runtime that takes seconds to start: they stay one block, so its runner is reused from file to file.
 */
const builtinPools = ['forks', 'threads', 'vmForks', 'vmThreads'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (spec: TestSpecification) => {
      const file = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`)?.duration;
      return cached !== undefined ? cached / 1000 : (priorSeconds.find(([re]) => re.test(file))?.[1] ?? 1);
    };
    const blocks = new Map<string, TestSpecification[]>();
    for (const spec of files) {
      const sharedRuntime = spec.project.config.isolate === false && !builtinPools.includes(spec.pool);
      const key = sharedRuntime ? `project:${spec.project.name}` : spec.moduleId;
      blocks.set(key, [...(blocks.get(key) ?? []), spec]);
    }
    const cost = (block: TestSpecification[]) => block.reduce((sum, spec) => sum + seconds(spec), 0);
    return [...blocks.values()]
      .map((block) => block.sort((a, b) => seconds(b) - seconds(a)))
      .sort((a, b) => cost(b) - cost(a))
      .flat();
  }
}

export default defineConfig({
  test: {
    // The app's own log lines (JSON, one per request) are shown for failed tests only: a passing run stays readable.
    silent: 'passed-only',
    // Vitest's default is one file at a time on this 2-core machine (cores - 1). Most end-to-end time is spent
    // waiting on child processes (Tenet, wrangler, the CLI), so more files at once keep both cores busy.
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            // The log's migrations, applied to the test D1 by test/worker/setup.ts (as `npm start` applies them).
            miniflare: {
              bindings: { TEST_MIGRATIONS: await readD1Migrations('migrations') },
              // A second database that is never migrated: a log store that fails every write.
              d1Databases: { BROKEN_DB: 'tenet-broken' },
            },
          })),
        ],
        test: {
          name: 'workers',
          // One module graph per worker instead of per file: loading the app into workerd is most of a file's cost
          // (about 6 s), and the suites keep their data apart by themselves (own scenarios, own tags).
          isolate: false,
          setupFiles: ['test/worker/setup.ts'],
          include: ['test/worker/**/*.test.ts', 'middleware/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        // The fast tier: pure logic in-process (core, protocols, the exchange with scripted ports), milliseconds a test.
        test: {
          name: 'fast',
          environment: 'node',
          // One module graph per worker: the files share no state, and importing the sources again for each file
          // was most of this project's time.
          isolate: false,
          include: ['src/**/*.test.ts', 'test/fast/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [
            'test/node/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/upstream/**/*.test.ts',
            'test/browser/**/*.test.ts',
            'test/first-run/**/*.test.ts',
          ],
          // One module graph per worker, as in the fast tier: the files keep their state in their own suites, and
          // importing the helpers, SDKs and schemas again for each file cost more than a second of CPU a file.
          isolate: false,
          // One Postgres server for the whole run (each Postgres suite makes its own database on it).
          globalSetup: ['test/global-setup.ts', 'test/postgres-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
