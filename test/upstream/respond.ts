// Writes a scripted reply (JSON, SSE stream, raw, drop, stall) or the default echo onto a node:http response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  chunks,
  completion,
  DEFAULT_MODEL,
  errorBody,
  estimateTokens,
  type RecordedRequest,
  type ReplySpec,
  type StreamReply,
} from './script.js';

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Resolves true after `ms`, or false as soon as the response closes (client gone or server closing). */
function wait(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
): void {
  const body = JSON.stringify(value) ?? 'null';
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

const sseFrame = (item: unknown): string =>
  typeof item === 'string' ? item : `data: ${JSON.stringify(item)}\n\n`;

function writeFrame(res: ServerResponse, frame: string, flushed: boolean): Promise<void> | undefined {
  if (!flushed) {
    res.write(frame);
    return undefined;
  }
  return new Promise((resolve) => res.write(frame, () => resolve()));
}

async function sendStream(res: ServerResponse, spec: StreamReply): Promise<void> {
  res.writeHead(spec.status ?? 200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    ...spec.headers,
  });
  res.flushHeaders();
  const { chunkDelayMs, dropAfter, stallAfter } = spec;
  // Before a drop every written byte must have reached the socket, or the client would see fewer chunks.
  const flushed = dropAfter !== undefined;
  for (let i = 0; i <= spec.stream.length; i++) {
    if (res.destroyed) return;
    if (i === dropAfter) {
      res.socket?.destroy();
      return;
    }
    if (i === stallAfter) return;
    if (i === spec.stream.length) break;
    const delay = Array.isArray(chunkDelayMs) ? (chunkDelayMs[i] ?? 0) : (chunkDelayMs ?? 0);
    if (delay > 0 && !(await wait(delay, res))) return;
    await writeFrame(res, sseFrame(spec.stream[i]), flushed);
  }
  if (spec.done !== false) res.write('data: [DONE]\n\n');
  res.end();
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (!isObject(message) || message.role !== 'user') continue;
    const { content } = message;
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) return '';
    return content
      .map((part: unknown) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}

function sendEcho(res: ServerResponse, rec: RecordedRequest): void {
  const body = rec.json;
  if (!isObject(body)) {
    sendJson(res, 400, errorBody('request body must be a JSON object'));
    return;
  }
  const text = `echo: ${lastUserText(body.messages)}`;
  const opts = {
    model: typeof body.model === 'string' ? body.model : DEFAULT_MODEL,
    usage: { prompt_tokens: estimateTokens(rec.body) },
  };
  if (body.stream !== true) {
    sendJson(res, 200, completion(text, opts));
    return;
  }
  const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  void sendStream(res, { stream: chunks(text, { ...opts, includeUsage }) });
}

export function sendDefault(res: ServerResponse, rec: RecordedRequest): void {
  if (rec.method === 'POST' && rec.path.endsWith('/chat/completions')) {
    sendEcho(res, rec);
  } else if (rec.method === 'GET' && rec.path.endsWith('/models')) {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: DEFAULT_MODEL, object: 'model', created: 0, owned_by: 'tenet-test' }],
    });
  } else {
    sendJson(res, 404, errorBody(`no scripted reply for ${rec.method} ${rec.path}`, { code: 'not_found' }));
  }
}

/** The reply with each placeholder replaced by what its pattern captured from the request body. */
function substitute(spec: ReplySpec, captures: Record<string, string>, body: string): ReplySpec {
  let text = JSON.stringify(spec);
  for (const [placeholder, pattern] of Object.entries(captures)) {
    const value = new RegExp(pattern).exec(body)?.[1];
    // Both sides JSON-escaped: the placeholder sits inside JSON strings of the reply.
    if (value !== undefined) text = text.split(placeholder).join(JSON.stringify(value).slice(1, -1));
  }
  return JSON.parse(text) as ReplySpec;
}

export async function sendReply(
  req: IncomingMessage,
  res: ServerResponse,
  spec: ReplySpec,
  rec: RecordedRequest,
) {
  if (spec.delayMs !== undefined && spec.delayMs > 0 && !(await wait(spec.delayMs, res))) return;
  if (spec.captures) spec = substitute(spec, spec.captures, rec.body);
  if ('drop' in spec) {
    req.socket.destroy();
  } else if ('stall' in spec) {
    // Answer nothing; close() destroys the socket.
  } else if ('json' in spec) {
    sendJson(res, spec.status ?? 200, spec.json, spec.headers);
  } else if ('raw' in spec) {
    res.writeHead(spec.status ?? 200, {
      'content-type': spec.contentType ?? 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(spec.raw),
      ...spec.headers,
    });
    res.end(spec.raw);
  } else if ('stream' in spec) {
    await sendStream(res, spec);
  } else {
    sendDefault(res, rec);
  }
}
