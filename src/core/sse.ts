// Server-sent events: splitting a byte stream into whole events, and writing the events Tenet sends.
import type { OpenAIErrorBody } from './errors.ts';

/** Where the first event boundary (a blank line) ends in `text` at or after `from`, or -1. */
function boundaryEnd(text: string, from: number): number {
  for (let i = text.indexOf('\n', from); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (text[i + 1] === '\n') return i + 2;
    if (text[i + 1] === '\r' && text[i + 2] === '\n') return i + 3;
  }
  return -1;
}

/**
 * Accumulates decoded text and hands out whole events only, so a stream cut mid-event never
 * forwards half an event. `push` returns the complete events' text (possibly several, '' if none).
 */
export class SseFramer {
  #pending = '';

  push(text: string): string {
    const buf = this.#pending + text;
    let end = -1;
    // Find the last boundary: scan forward from each found boundary.
    for (let next = boundaryEnd(buf, 0); next !== -1; next = boundaryEnd(buf, next)) end = next;
    if (end === -1) {
      this.#pending = buf;
      return '';
    }
    this.#pending = buf.slice(end);
    return buf.slice(0, end);
  }

  /** Text received after the last complete event (non-empty means the stream stopped mid-event). */
  get pending(): string {
    return this.#pending;
  }
}

/** The `data:` payloads of complete SSE events, in order (comments and other fields skipped). */
export function sseData(events: string): string[] {
  const out: string[] = [];
  for (const block of events.split(/\r?\n\r?\n/)) {
    if (block === '') continue;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    }
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

/** True when the events' text contains the terminating `data: [DONE]` event. */
export function containsDone(events: string): boolean {
  return events.includes('[DONE]') && sseData(events).includes('[DONE]');
}

export const sseDone = 'data: [DONE]\n\n';

/** An error event the official SDKs raise as an `APIError` (they throw on a `data` object with `error`). */
export function sseError(body: OpenAIErrorBody): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}
