// Runs the scripted upstream standalone (`npx tsx test/upstream/main.ts --port 9000`) and prints its URL.
import { parseArgs } from 'node:util';
import { startUpstream } from './server.js';

const { values } = parseArgs({ options: { port: { type: 'string', short: 'p', default: '0' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const upstream = await startUpstream({ port });
console.log(upstream.url);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void upstream.close().finally(() => process.exit(0));
  });
}
