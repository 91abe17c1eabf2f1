// A port already taken: both runtimes say which port, what holds it and the setting to change, never a raw EADDRINUSE stack.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { type FreshCopy, freshCopy, run } from './fresh-copy.ts';

describe('starting on a port that is taken', () => {
  let copy: FreshCopy;
  let holder: Server;
  let port: number;
  let tenet: TenetProcess;

  beforeAll(async () => {
    copy = freshCopy();
    port = await freePort();
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: (await createScenario(inject('upstreamUrl'))).baseURL,
    });
  });
  afterAll(async () => {
    holder?.close();
    await tenet?.stop();
    copy?.remove();
  });

  it.each([
    ['npx tenet serve', 'npx', ['tenet', 'serve']],
    ['npm start', 'npm', ['start']],
  ])('%s names the port, the process holding it and PORT', async (_name, command, args) => {
    const started = run(copy, command, args, { PORT: String(port), TENET_DB: `${copy.dir}/clash.db` });
    expect(await started.exited).not.toBe(0);
    const output = started.output();
    expect(output).toContain(`port ${port} on 127.0.0.1 is already in use by process ${process.pid}`);
    expect(output).toMatch(/set PORT/);
    expect(output).not.toMatch(/EADDRINUSE|\n\s+at /);
  });

  it('says when the one holding it is another Tenet', async () => {
    const taken = new URL(tenet.url).port;
    const started = run(copy, 'npx', ['tenet', 'serve'], { PORT: taken, TENET_DB: `${copy.dir}/clash2.db` });
    expect(await started.exited).not.toBe(0);
    expect(started.output()).toContain(
      `port ${taken} on 127.0.0.1 is already in use by another Tenet (runtime node)`,
    );
  });
});
