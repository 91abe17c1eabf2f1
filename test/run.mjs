// `npm test`: the lint (bundle, biome, tsc) alongside the test suite, so tsc's seconds use the CPU that vitest's
// waits on child processes leave idle; it fails when either fails. Arguments go to vitest (`npm test -- FILE`).
import { spawn } from 'node:child_process';

const run = (args) =>
  new Promise((resolve) => {
    spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (code, signal) =>
      resolve(code ?? (signal ? 1 : 0)),
    );
  });

const npm = process.env.npm_execpath;
const [lint, tests] = await Promise.all([
  npm ? run([npm, 'run', 'lint']) : Promise.resolve(0),
  run(['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)]),
]);
if (!npm) console.error('test/run.mjs: run through npm (npm test) to lint as well');
process.exitCode = lint !== 0 ? lint : tests;
