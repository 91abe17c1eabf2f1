// `tenet redteam`'s HTTP side: one probe sent to a running Tenet, and the answer as the classification needs it.
import type { ProbeResponse } from '../core/quality/redteam.ts';
import type { Probe } from '../core/quality/redteam-probes.ts';

/** Where and how the probes are sent. */
export interface Target {
  url: string;
  key: string | undefined;
  constitution: string | undefined;
  model: string;
  stream: boolean;
  timeoutMs: number;
}

/** The reason of a failed fetch: undici's cause (ECONNREFUSED …) rather than "fetch failed". */
export const why = (err: unknown) =>
  err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);

interface ErrorBody {
  error?: { code?: string | null; message?: string };
}

function errorOf(status: number, text: string): { code: string | null; message: string } {
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    if (error) return { code: error.code ?? null, message: error.message ?? '' };
  } catch {
    // not OpenAI-shaped: show the text
  }
  return { code: null, message: text.slice(0, 300) || `HTTP ${status}` };
}

export interface Answer {
  response: ProbeResponse;
  text: string;
  headers: Record<string, string>;
}

/** A whole SSE answer: its text, finish reason, an error event, and the verdict headers of a late stream. */
function readSse(
  body: string,
  headers: Record<string, string>,
): { text: string; finishReason: string | undefined; error: ProbeResponse['error'] } {
  let text = '';
  let finishReason: string | undefined;
  let error: ProbeResponse['error'];
  let done = false;
  for (const event of body.split(/\r?\n\r?\n/)) {
    for (const line of event.split(/\r?\n/)) {
      if (line.startsWith(': tenet ')) {
        try {
          Object.assign(headers, JSON.parse(line.slice(': tenet '.length)) as Record<string, string>);
        } catch {
          error = { code: 'invalid_response', message: 'the verdict comment of the stream is not JSON' };
        }
      } else if (line.startsWith('data:')) {
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        let json: {
          error?: ErrorBody['error'];
          choices?: Array<{
            index: number;
            delta?: { content?: string | null };
            finish_reason?: string | null;
          }>;
        };
        try {
          json = JSON.parse(data);
        } catch {
          error = { code: 'invalid_response', message: 'a stream event is not JSON' };
          continue;
        }
        if (json.error) error = { code: json.error.code ?? null, message: json.error.message ?? '' };
        for (const c of json.choices ?? []) {
          if (c.index !== 0) continue;
          text += c.delta?.content ?? '';
          finishReason = c.finish_reason ?? finishReason;
        }
      }
    }
  }
  if (!done && !error) error = { code: 'stream_truncated', message: 'the stream ended without data: [DONE]' };
  return { text, finishReason, error };
}

/** Sends one probe; an HTTP error or a failed connection is part of the answer, not an exception. */
export async function sendProbe(probe: Probe, target: Target, signal: AbortSignal): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.key) headers['authorization'] = `Bearer ${target.key}`;
  if (target.constitution) headers['x-tenet-constitution'] = target.constitution;
  let res: Response;
  let body: string;
  try {
    res = await fetch(`${target.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: target.model, messages: probe.messages, stream: target.stream }),
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
    answer = readSse(body, got);
  } else {
    try {
      const json = JSON.parse(body) as {
        choices?: Array<{ message?: { content?: string | null }; finish_reason?: string }>;
      };
      answer = {
        text: json.choices?.[0]?.message?.content ?? '',
        finishReason: json.choices?.[0]?.finish_reason,
      };
    } catch {
      answer = { text: '', error: { code: 'invalid_response', message: 'the answer is not JSON' } };
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
