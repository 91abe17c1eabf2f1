// fetch for the model calls on Node (critic and revisions, through the official SDKs): node:http(s) on keep-alive
// pools, one per origin. undici's fetch costs about 0.7 ms more CPU a call, and a judged answer makes two to
// four of them. Answers are read whole (these calls are never streamed) and decoded as fetch decodes them.
import { type Agent as HttpAgent, request as httpRequest } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { decoded, keepAliveAgent, readBody } from './node-upstream.ts';

/** Statuses whose Response must have no body. */
const bodiless = new Set([101, 204, 205, 304]);

export function createNodeFetch(): typeof fetch {
  const agents = new Map<string, HttpAgent | HttpsAgent>();
  const agentFor = (url: URL) => {
    let agent = agents.get(url.origin);
    if (!agent) {
      agent = keepAliveAgent(url.protocol === 'https:');
      agents.set(url.origin, agent);
    }
    return agent;
  };

  const nodeFetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) throw new TypeError('node fetch: pass a URL and init, not a Request');
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`node fetch: unsupported protocol ${url.protocol}`);
    const body = init.body ?? undefined;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array))
      throw new TypeError('node fetch: only string and byte bodies');
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    headers['accept-encoding'] ??= 'gzip, deflate, br';
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const signal = init.signal ?? undefined;
    const aborted = () =>
      signal?.reason instanceof Error
        ? signal.reason
        : new DOMException('This operation was aborted', 'AbortError');
    if (signal?.aborted) throw aborted();

    return await new Promise<Response>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: init.method ?? 'GET', headers, agent: agentFor(url) });
      const onAbort = () => {
        req.destroy();
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const fail = (err: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        // As fetch reports a network failure: a TypeError with the cause (the SDKs read it as a connection error).
        reject(signal?.aborted ? aborted() : new TypeError('fetch failed', { cause: err }));
      };
      req.on('error', fail);
      req.on('response', (res) => {
        readBody(decoded(res)).then((bytes) => {
          signal?.removeEventListener('abort', onAbort);
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
          }
          const status = res.statusCode ?? 502;
          resolve(
            new Response(bodiless.has(status) ? null : bytes, {
              status,
              statusText: res.statusMessage ?? '',
              headers: out,
            }),
          );
        }, fail);
      });
      req.end(body);
    });
  };
  return nodeFetch as typeof fetch;
}
