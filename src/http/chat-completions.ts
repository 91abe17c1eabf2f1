// POST /v1/chat/completions: validates the request, gets the answer upstream, returns it as JSON or SSE.
import type { Context } from 'hono';
import { parseChatRequest } from '../core/chat-request.ts';
import { TenetError } from '../core/errors.ts';
import type { AppEnv } from './app-env.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { relaySse } from './sse-relay.ts';
import { upstreamFailure } from './upstream-failure.ts';

/** True when `text` is a JSON object shaped like a chat completion (what the SDKs will try to read). */
function isCompletion(text: string): boolean {
  try {
    const json: unknown = JSON.parse(text);
    return (
      typeof json === 'object' && json !== null && Array.isArray((json as { choices?: unknown }).choices)
    );
  } catch {
    return false;
  }
}

export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const { upstream, config, redact, logger } = c.var.deps;
  const text = await c.req.text();
  const request = parseChatRequest(text);

  // The client's bytes are forwarded as sent: every field, known or not, reaches the upstream intact.
  const reply = await upstream.send({
    method: 'POST',
    path: '/chat/completions',
    headers: toUpstreamHeaders(c.req.raw.headers),
    body: text,
    apiKey: c.var.upstreamKey,
    signal: c.req.raw.signal,
  });
  if (!reply.response.ok) throw await upstreamFailure(reply, redact);

  const headers = toClientHeaders(reply.response.headers);
  const isSse = (reply.response.headers.get('content-type') ?? '').includes('text/event-stream');
  if (request.stream && isSse) {
    const requestId = c.var.requestId;
    const body = relaySse(reply, {
      idleTimeoutMs: config.streamIdleTimeoutMs,
      onEnd: (outcome) => {
        if (outcome.kind === 'broken') {
          logger.warn('upstream stream broken', { request_id: requestId, code: outcome.error.code });
        }
      },
    });
    headers.set('cache-control', 'no-cache');
    return c.body(body, 200, Object.fromEntries(headers));
  }

  const body = await reply.text();
  if (!isCompletion(body)) {
    throw new TenetError(
      'upstream_invalid_response',
      'The upstream model sent an answer that is not a chat completion.',
    );
  }
  headers.set('content-type', 'application/json');
  return c.body(body, reply.response.status as 200, Object.fromEntries(headers));
}
