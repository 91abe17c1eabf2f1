// Scripted OpenAI-compatible HTTP server that tests and the benchmark use as the upstream (and critic) model.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isObject, sendDefault, sendJson, sendReply } from './respond.js';
import { errorBody, type RecordedRequest, type ReplyMatch, type ReplySpec } from './script.js';

export interface Upstream {
  /** e.g. `http://127.0.0.1:PORT`; `${url}/v1` answers with the default scenario. */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface QueuedReply {
  spec: ReplySpec;
  left: number | 'always';
}

interface ScenarioState {
  queue: QueuedReply[];
  requests: RecordedRequest[];
  maxRequests: number;
}

const REPLY_KINDS = ['json', 'stream', 'raw', 'drop', 'stall', 'echo'] as const;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function record(req: IncomingMessage, path: string, query: string, body: string): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const rec: RecordedRequest = {
    method: req.method ?? 'GET',
    path,
    query,
    headers,
    body,
    receivedAt: Date.now(),
  };
  const json = parseJson(body);
  if (json !== undefined) rec.json = json;
  return rec;
}

function matches(match: ReplyMatch | undefined, rec: RecordedRequest): boolean {
  if (!match) return true;
  const body = isObject(rec.json) ? rec.json : {};
  if (match.method !== undefined && match.method.toUpperCase() !== rec.method) return false;
  if (match.path !== undefined && !rec.path.endsWith(match.path)) return false;
  if (match.model !== undefined && body.model !== match.model) return false;
  if (match.stream !== undefined && (body.stream === true) !== match.stream) return false;
  if (match.bodyIncludes !== undefined && !rec.body.includes(match.bodyIncludes)) return false;
  for (const [name, value] of Object.entries(match.header ?? {})) {
    if (rec.headers[name.toLowerCase()] !== value) return false;
  }
  if (match.jsonSchemaName !== undefined) {
    const format = body.response_format;
    const schema = isObject(format) ? format.json_schema : undefined;
    if (!isObject(schema) || schema.name !== match.jsonSchemaName) return false;
  }
  return true;
}

function takeReply(scenario: ScenarioState, rec: RecordedRequest): ReplySpec | undefined {
  const index = scenario.queue.findIndex((queued) => matches(queued.spec.match, rec));
  const queued = scenario.queue[index];
  if (!queued) return undefined;
  if (queued.left !== 'always' && --queued.left <= 0) scenario.queue.splice(index, 1);
  return queued.spec;
}

/** Why a scripted reply is unusable, so a test's typo fails loudly at `script()` time. */
function replyProblem(spec: unknown): string | undefined {
  if (!isObject(spec)) return 'a reply must be an object';
  const kinds = REPLY_KINDS.filter((kind) => kind in spec);
  if (kinds.length !== 1) return `a reply needs exactly one of ${REPLY_KINDS.join(', ')}`;
  const { times } = spec;
  if (times !== undefined && times !== 'always' && !(Number.isInteger(times) && Number(times) > 0)) {
    return 'times must be a positive integer or "always"';
  }
  if ('stream' in spec && !Array.isArray(spec.stream)) return 'stream must be an array';
  if ('raw' in spec && typeof spec.raw !== 'string') return 'raw must be a string';
  return undefined;
}

function newScenario(maxRequests: number): ScenarioState {
  return { queue: [], requests: [], maxRequests };
}

/** Starts the scripted upstream on 127.0.0.1 (port 0 picks a free one). */
export async function startUpstream(opts: { port?: number } = {}): Promise<Upstream> {
  const scenarios = new Map<string, ScenarioState>();
  // The zero-setup scenario the benchmark hits: bounded so a long run does not grow memory.
  const defaultScenario = newScenario(1000);
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let path = pathname;
    let scenario: ScenarioState | undefined = defaultScenario;
    if (pathname.startsWith('/s/')) {
      const slash = pathname.indexOf('/', 3);
      scenario = scenarios.get(slash === -1 ? pathname.slice(3) : pathname.slice(3, slash));
      path = slash === -1 ? '/' : pathname.slice(slash);
    }
    const body = await readBody(req);
    const method = req.method ?? 'GET';
    if (pathname === '/__scenarios' && method === 'POST') {
      const id = randomBytes(6).toString('hex');
      scenarios.set(id, newScenario(10_000));
      sendJson(res, 201, { id });
      return;
    }
    if (!scenario) {
      sendJson(res, 404, errorBody(`unknown scenario in ${pathname}`, { code: 'unknown_scenario' }));
      return;
    }
    if (path === '/__script' && method === 'POST') {
      const parsed = parseJson(body);
      const replies = isObject(parsed) ? parsed.replies : undefined;
      const problem = Array.isArray(replies)
        ? replies.map(replyProblem).find((p) => p !== undefined)
        : 'body must be {"replies": [...]}';
      if (problem !== undefined || !Array.isArray(replies)) {
        sendJson(res, 400, errorBody(problem ?? 'invalid script'));
        return;
      }
      for (const spec of replies as ReplySpec[]) scenario.queue.push({ spec, left: spec.times ?? 1 });
      sendJson(res, 200, { queued: scenario.queue.length });
      return;
    }
    if (path === '/__requests' && method === 'GET') {
      sendJson(res, 200, { requests: scenario.requests });
      return;
    }
    if (path === '/__reset' && method === 'POST') {
      scenario.queue.length = 0;
      scenario.requests.length = 0;
      sendJson(res, 200, { ok: true });
      return;
    }
    const rec = record(req, path, q === -1 ? '' : url.slice(q + 1), body);
    scenario.requests.push(rec);
    if (scenario.requests.length > scenario.maxRequests) scenario.requests.shift();
    const spec = scenario.queue.length > 0 ? takeReply(scenario, rec) : undefined;
    if (spec) await sendReply(req, res, spec, rec);
    else sendDefault(res, rec);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, errorBody(`scripted upstream failed: ${String(error)}`, { type: 'server_error' }));
    });
  });
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('scripted upstream: no TCP address');

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Stalled streams and keep-alive sockets would otherwise hold close() open forever.
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
