// Every other /v1/* route (models, embeddings, files, …): forwarded unchanged, both ways.
import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';

export async function passthrough(c: Context<AppEnv>): Promise<Response> {
  const { upstream } = c.var.deps;
  const url = new URL(c.req.url);
  const method = c.req.method;
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const reply = await upstream.send({
    method,
    // The base URL already ends in /v1: /v1/models → {base}/models.
    path: url.pathname.replace(/^\/v1(?=\/|$)/, '') + url.search,
    headers: toUpstreamHeaders(c.req.raw.headers),
    body: hasBody ? await c.req.arrayBuffer() : null,
    apiKey: c.var.upstreamKey,
    signal: c.req.raw.signal,
  });
  const status = reply.response.status;
  const headers = Object.fromEntries(toClientHeaders(reply.response.headers));
  const nullBody = status === 204 || status === 304 || method === 'HEAD';
  if (nullBody) {
    reply.abort();
    return c.body(null, status as 204, headers);
  }
  return c.body(reply.stream(), status as 200, headers);
}
