// Every other /v1/* route (models, embeddings, files, count_tokens …): forwarded unchanged, both ways.
import type { Context } from 'hono';
import type { AppEnv } from './app-env.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { isAnthropicRequest } from './paths.ts';

export async function passthrough(c: Context<AppEnv>): Promise<Response> {
  const { deps } = c.var;
  const url = new URL(c.req.url);
  // The normalised path: the upstream gets the one spelling Tenet routed, never a second one it might serve.
  const path = c.req.path;
  // Anthropic's own routes, and any request in its dialect (its GET /v1/models shares OpenAI's path).
  const anthropic = isAnthropicRequest(path, c.req.raw.headers);
  const upstream = anthropic ? deps.anthropicUpstream : deps.upstream;
  const method = c.req.method;
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const reply = await upstream.send({
    method,
    // OpenAI-compatible base URLs end in /v1 (/v1/models → {base}/models); Anthropic's does not.
    path: (anthropic ? path : path.replace(/^\/v1(?=\/|$)/, '')) + url.search,
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
