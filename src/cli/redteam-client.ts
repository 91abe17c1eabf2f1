// `tenet redteam`'s HTTP side: one probe sent to a running Tenet, and the answer as the classification needs it.
import type { AnyProtocol, ProtocolId } from '../core/exchange/protocol.ts';
import type { ProbeResponse } from '../core/quality/redteam.ts';
import type { Probe } from '../core/quality/redteam-probes.ts';
import { parseSse } from '../core/sse.ts';
import { protocolById } from '../protocols/index.ts';

/** Where and how the probes are sent. */
export interface Target {
  url: string;
  key: string | undefined;
  constitution: string | undefined;
  model: string;
  stream: boolean;
  timeoutMs: number;
  /** The API the probes speak (`--protocol`): chat completions by default. */
  protocol: ProtocolId;
}

/** The reason of a failed fetch: undici's cause (ECONNREFUSED …) rather than "fetch failed". */
export const why = (err: unknown) =>
  err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);

function errorOf(status: number, text: string): { code: string | null; message: string } {
  try {
    const error = errorIn(JSON.parse(text));
    if (error) return error;
  } catch {
    // not an error body: show the text
  }
  return { code: null, message: text.slice(0, 300) || `HTTP ${status}` };
}

export interface Answer {
  response: ProbeResponse;
  text: string;
  headers: Record<string, string>;
}

/** A probe as a request of `protocol`: the same conversation in that API's shape. */
function probeBody(protocol: ProtocolId, probe: Probe, target: Target): Record<string, unknown> {
  const { model, stream } = target;
  const turns = probe.messages;
  if (protocol === 'responses')
    return { model, stream, input: turns.map((m) => ({ role: m.role, content: m.content })) };
  if (protocol === 'messages') {
    const system = turns.filter((m) => m.role === 'system').map((m) => m.content);
    return {
      model,
      stream,
      max_tokens: 1024,
      ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
      messages: turns
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content })),
    };
  }
  return { model, stream, messages: turns };
}

/** An error in any protocol's shape: OpenAI's `{error:{code,message}}`, Anthropic's and the Responses stream's. */
function errorIn(json: unknown): ProbeResponse['error'] {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as { type?: unknown; code?: unknown; message?: unknown; error?: unknown };
  if (typeof o.error === 'object' && o.error !== null) {
    const e = o.error as { code?: unknown; type?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : null;
    return { code, message: typeof e.message === 'string' ? e.message : '' };
  }
  if (o.type === 'error')
    return { code: typeof o.code === 'string' ? o.code : null, message: String(o.message ?? '') };
  return undefined;
}

/** The first answer's text, and `content_filter` when the answer refuses in its protocol's way. */
function readAnswer(
  protocol: AnyProtocol,
  answer: unknown,
): { text: string; finishReason: string | undefined } {
  const choice = protocol.draftOf(answer).choices[0];
  // Each API says "refused" its own way: finish_reason content_filter, stop_reason refusal, a refusal part.
  const refusalPart = JSON.stringify(answer).includes('"type":"refusal"');
  const refused = choice?.finishReason === 'refusal' || refusalPart;
  const text = choice?.text ?? (refusalPart ? refusalText(answer) : '');
  return { text, finishReason: refused ? 'content_filter' : (choice?.finishReason ?? undefined) };
}

function refusalText(answer: unknown): string {
  const found = /"type":"refusal","refusal":"((?:[^"\\]|\\.)*)"/.exec(JSON.stringify(answer));
  return found?.[1] ? (JSON.parse(`"${found[1]}"`) as string) : '';
}

/** A whole SSE answer: its text, finish reason, an error event, and the verdict headers of a late stream. */
function readSse(
  protocol: AnyProtocol,
  body: string,
  headers: Record<string, string>,
): { text: string; finishReason: string | undefined; error: ProbeResponse['error'] } {
  let error: ProbeResponse['error'];
  for (const line of body.split(/\r?\n/)) {
    if (!line.startsWith(': tenet ')) continue;
    try {
      Object.assign(headers, JSON.parse(line.slice(': tenet '.length)) as Record<string, string>);
    } catch {
      error = { code: 'invalid_response', message: 'the verdict comment of the stream is not JSON' };
    }
  }
  const assembler = protocol.assembler();
  for (const event of parseSse(body)) {
    try {
      const found = event.data === '[DONE]' ? undefined : errorIn(JSON.parse(event.data));
      if (found) {
        error = found;
        continue;
      }
      assembler.add(event);
    } catch {
      error = { code: 'invalid_response', message: 'a stream event is not JSON' };
    }
  }
  if (!protocol.streamEnded(new TextEncoder().encode(body)) && !error)
    error = { code: 'stream_truncated', message: 'the stream ended before its last event' };
  if (error) return { text: '', finishReason: undefined, error };
  return { ...readAnswer(protocol, assembler.result()), error };
}

/** Sends one probe; an HTTP error or a failed connection is part of the answer, not an exception. */
export async function sendProbe(probe: Probe, target: Target, signal: AbortSignal): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const protocol = protocolById(target.protocol);
  if (target.key) headers['authorization'] = `Bearer ${target.key}`;
  if (target.protocol === 'messages') headers['anthropic-version'] = '2023-06-01';
  if (target.constitution) headers['x-tenet-constitution'] = target.constitution;
  let res: Response;
  let body: string;
  try {
    res = await fetch(`${target.url}${protocol.path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(probeBody(target.protocol, probe, target)),
      signal: AbortSignal.any([signal, AbortSignal.timeout(target.timeoutMs)]),
    });
    body = await res.text();
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    const error = timedOut
      ? { code: 'timeout', message: `no answer within ${target.timeoutMs / 1000} s (--timeout)` }
      : { code: 'connection_failed', message: why(err) };
    return { response: { status: 0, verdict: undefined, violations: [], error }, text: '', headers: {} };
  }
  const got = Object.fromEntries([...res.headers].filter(([k]) => k.startsWith('x-tenet-')));
  let answer: { text: string; finishReason?: string | undefined; error?: ProbeResponse['error'] };
  if (!res.ok) {
    answer = { text: '', error: errorOf(res.status, body) };
  } else if (target.stream && (res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    answer = readSse(protocol, body, got);
  } else {
    try {
      answer = readAnswer(protocol, protocol.readAnswer(body));
    } catch {
      answer = {
        text: '',
        error: { code: 'invalid_response', message: `the answer is not a ${protocol.id} answer` },
      };
    }
  }
  const violations = (got['x-tenet-violations'] ?? '').split(',').filter((v) => v !== '');
  return {
    response: {
      status: res.status,
      verdict: got['x-tenet-verdict'],
      violations,
      criticError: got['x-tenet-critic-error'],
      finishReason: answer.finishReason,
      error: answer.error,
    },
    text: answer.text,
    headers: got,
  };
}
