// The benchmark's floor: the cheapest reasonable Node proxy (node:http in, global fetch out, body piped back).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = (process.argv[2] ?? '').replace(/\/+$/, '');
if (!upstream.startsWith('http://')) {
  console.error('usage: floor.ts http://UPSTREAM_ORIGIN');
  process.exit(2);
}

const server = createServer(async (req, res) => {
  try {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const headers: Record<string, string> = {};
    const type = req.headers['content-type'];
    if (type) headers['content-type'] = type;
    const auth = req.headers.authorization;
    if (auth) headers.authorization = auth;
    const method = req.method ?? 'GET';
    const reply = await fetch(upstream + (req.url ?? '/'), {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? null : Buffer.concat(parts),
    });
    res.writeHead(reply.status, {
      'content-type': reply.headers.get('content-type') ?? 'application/octet-stream',
    });
    if (reply.body) {
      const reader = reply.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
    }
    res.end();
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`floor proxy failed: ${String(err)}`);
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ msg: 'floor listening', url: `http://127.0.0.1:${port}` }));
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
