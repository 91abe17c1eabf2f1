// Every other /v1/* route (models, embeddings, files, count_tokens …): forwarded both ways, inert and scrubbed.
import type { Context } from 'hono';
import { scrubByteStream } from '../core/byte-scrub.ts';
import { answerSecrets } from './answer-secrets.ts';
import { type AppEnv, contentfulStatus, statusCode } from './app-env.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { isAnthropicRequest } from './paths.ts';

/**
 * Content types a browser would run or render as a document on Tenet's origin (where the dashboard's cookie
 * lives): sent as a download instead. The CSP's sandbox keeps even a sniffed or inline one scriptless.
 */
const activeType =
  /^(text\/(html|xml|javascript|xsl)|application\/(xhtml\+xml|xml|javascript|ecmascript|pdf)|image\/svg\+xml|multipart\/x-mixed-replace)/i;

/** What makes a forwarded body inert in a browser: no sniffing, no script, no plugins, no same-origin access. */
const inertHeaders = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
} as const;

export async function passthrough(c: Context<AppEnv>): Promise<Response> {
  const { deps, upstreamKey } = c.var;
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
    apiKey: upstreamKey,
    signal: c.req.raw.signal,
  });
  const status = reply.response.status;
  const headers = Object.fromEntries(toClientHeaders(reply.response.headers));
  Object.assign(headers, inertHeaders);
  if (activeType.test(headers['content-type'] ?? '')) headers['content-disposition'] = 'attachment';
  const nullBody = status === 204 || status === 304 || method === 'HEAD';
  if (nullBody) {
    reply.abort();
    return c.body(null, statusCode(status), headers);
  }
  // Any byte of any body (JSON, text, a stream, an error) may echo a key the upstream was sent: none goes out.
  return c.body(
    scrubByteStream(reply.stream(), answerSecrets(deps.config)),
    contentfulStatus(status),
    headers,
  );
}
