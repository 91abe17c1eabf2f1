// An upstream's error answer, turned into the error Tenet's client sees: 4xx kept, Tenet's own key refused and 5xx as 502.

import type { UpstreamReply } from '../adapters/upstream.ts';
import { TenetError } from '../core/errors.ts';
import type { Redactor } from '../core/redact.ts';

/** Headers that tell an SDK when and whether to retry: kept on errors. */
const retryHeaders = ['retry-after', 'retry-after-ms', 'x-should-retry'];

interface UpstreamErrorFields {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

function fieldsOf(text: string): UpstreamErrorFields {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 500) };
  }
  const record = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const root = record(json);
  // OpenAI: {error:{message,type,param,code}}; some servers: {error:"text"} or {message, type} or {detail}.
  const inner = record(root?.['error']) ?? root;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const message = str(inner?.['message']) ?? str(root?.['error']) ?? str(root?.['detail']);
  const fields: UpstreamErrorFields = {};
  if (message !== undefined) fields.message = message;
  const type = str(inner?.['type']);
  if (type !== undefined) fields.type = type;
  const code = inner?.['code'];
  if (typeof code === 'string' || code === null) fields.code = code;
  else if (typeof code === 'number') fields.code = String(code);
  const param = inner?.['param'];
  if (typeof param === 'string' || param === null) fields.param = param;
  return fields;
}

/** Where a failed answer came from, so the message can say what to fix. */
export interface UpstreamOrigin {
  /** The upstream's base URL: its host is named in 502 messages. */
  url?: string | undefined;
  /**
   * The setting holding the key Tenet sent (`TENET_UPSTREAM_KEY`, `TENET_ANTHROPIC_UPSTREAM_KEY`): a 401 then is
   * Tenet's configuration, not the client's fault. Undefined when the key was the client's own (TENET_BYOK).
   */
  keySetting?: string | undefined;
}

const hostOf = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/** Reads a non-2xx upstream answer and builds the TenetError to throw. */
export async function upstreamFailure(
  reply: UpstreamReply,
  redact: Redactor,
  origin: UpstreamOrigin = { keySetting: 'TENET_UPSTREAM_KEY' },
): Promise<TenetError> {
  const status = reply.response.status;
  let text = '';
  try {
    text = await reply.text();
  } catch {
    // The error body itself failed to arrive; the status is still worth reporting.
  }
  const fields = fieldsOf(text);
  const headers: Record<string, string> = {};
  for (const name of retryHeaders) {
    const value = reply.response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const host = hostOf(origin.url);
  const at = host ? ` at ${host}` : '';
  if (status === 401 && origin.keySetting) {
    // The client's key was good (Tenet checked it); the upstream refused Tenet's own. Its text would blame the
    // client ("You didn't provide an API key") and is mostly about headers the client never sent, so it is
    // replaced by what to fix. Not retryable: a retry meets the same key.
    return new TenetError(
      'upstream_auth_failed',
      `The upstream${at} refused Tenet's key (HTTP 401): set ${origin.keySetting} in Tenet's settings (.dev.vars or the environment).`,
      { headers: { 'x-should-retry': 'false' } },
    );
  }
  const message = redact(fields.message || `HTTP ${status}`);
  if (status >= 400 && status < 500) {
    return new TenetError('upstream_error', message, {
      status,
      type: fields.type ?? 'invalid_request_error',
      wireCode: fields.code ?? null,
      param: fields.param ?? null,
      headers,
    });
  }
  return new TenetError('upstream_error', `The upstream model${at} failed (HTTP ${status}): ${message}`, {
    wireCode: 'upstream_error',
    headers,
  });
}
