// The Node request's body and abort signal, served straight from node:http: no web Request or stream per call.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The whole body, read off the socket (bounded by Content-Length or by the app's body limit beforehand). */
function readIncoming(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let ended = false;
    incoming.on('data', (part: Buffer) => parts.push(part));
    incoming.once('end', () => {
      ended = true;
      resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    });
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!ended) reject(new Error('the client closed the connection before sending its whole body'));
    });
  });
}

/**
 * @hono/node-server's request is lightweight until its body or signal is touched; then it builds a full web
 * Request (headers copied, body wrapped in a web stream, signal chained) — the largest per-call cost left on
 * the pass-through path. Here `text()`, `arrayBuffer()`, `json()` read the socket directly and `signal` is
 * aborted when the response closes unfinished (the client went away), as node-server's own would be. A body
 * something else already started reading (a chunked body through the body limit) keeps the web path.
 */
export function withNodeBody(request: Request, incoming: IncomingMessage, outgoing: ServerResponse): Request {
  if (request.method === 'GET' || request.method === 'HEAD')
    return withNodeSignal(request, incoming, outgoing);
  const proto = Object.getPrototypeOf(request) as Request;
  let bytes: Promise<Buffer> | undefined;
  const body = (): Promise<Buffer> | undefined => {
    if (bytes) return bytes;
    if (incoming.readableDidRead || incoming.readableEnded) return undefined;
    bytes = readIncoming(incoming);
    return bytes;
  };
  Object.defineProperties(request, {
    text: {
      value: () => body()?.then((b) => b.toString('utf8')) ?? proto.text.call(request),
    },
    arrayBuffer: {
      value: () =>
        body()?.then((b) => {
          const out = new Uint8Array(b.length);
          out.set(b);
          return out.buffer;
        }) ?? proto.arrayBuffer.call(request),
    },
    json: {
      value: () => body()?.then((b) => JSON.parse(b.toString('utf8')) as unknown) ?? proto.json.call(request),
    },
  });
  return withNodeSignal(request, incoming, outgoing);
}

function withNodeSignal(request: Request, incoming: IncomingMessage, outgoing: ServerResponse): Request {
  let controller: AbortController | undefined;
  outgoing.once('close', () => {
    if (!controller) return;
    if (incoming.errored) controller.abort(incoming.errored.toString());
    else if (!outgoing.writableFinished) controller.abort('Client connection prematurely closed.');
  });
  Object.defineProperty(request, 'signal', {
    get() {
      controller ??= new AbortController();
      return controller.signal;
    },
  });
  return request;
}
