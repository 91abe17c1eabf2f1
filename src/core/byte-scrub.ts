// Masks configured secrets in a byte stream of any content type, a secret split across chunks included.
import { secretMask } from './secret-scrub.ts';

const encoder = new TextEncoder();
const mask = encoder.encode(secretMask);

/** The byte sequences to find: each secret as UTF-8, and as a JSON string would escape it (when that differs). */
function needlesOf(secrets: readonly string[]): Uint8Array[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  return [...forms].map((f) => encoder.encode(f)).sort((a, b) => b.length - a.length);
}

function matchesAt(data: Uint8Array, at: number, needle: Uint8Array, length = needle.length): boolean {
  for (let i = 0; i < length; i++) if (data[at + i] !== needle[i]) return false;
  return true;
}

/**
 * Scrubs chunk by chunk: each chunk goes out at once but for its end when that end could be the start of a
 * secret (held back until the next chunk shows whether it is). A chunk holding no secret's first byte costs one
 * native scan per distinct first byte and goes out as it came.
 */
export class ByteScrubber {
  private readonly needles: Uint8Array[];
  private readonly firsts: number[];
  private held: Uint8Array = new Uint8Array(0);

  constructor(secrets: readonly string[]) {
    this.needles = needlesOf(secrets);
    this.firsts = [...new Set(this.needles.map((n) => n[0] ?? 0))];
  }

  /** The bytes to send now for `chunk`. */
  push(chunk: Uint8Array): Uint8Array {
    let data = chunk;
    if (this.held.length > 0) {
      data = new Uint8Array(this.held.length + chunk.length);
      data.set(this.held);
      data.set(chunk, this.held.length);
      this.held = new Uint8Array(0);
    }
    if (!this.firsts.some((b) => data.includes(b))) return data;
    const parts: Uint8Array[] = [];
    let sentTo = 0;
    for (let i = this.nextCandidate(data, 0); i !== -1; i = this.nextCandidate(data, i)) {
      const whole = this.needles.find((n) => i + n.length <= data.length && matchesAt(data, i, n));
      if (whole) {
        parts.push(data.subarray(sentTo, i), mask);
        i += whole.length;
        sentTo = i;
        continue;
      }
      // The rest of the chunk could be a secret's beginning: hold it back for the next chunk.
      const rest = data.length - i;
      if (this.needles.some((n) => n.length > rest && matchesAt(data, i, n, rest))) {
        this.held = data.slice(i);
        parts.push(data.subarray(sentTo, i));
        sentTo = data.length;
        break;
      }
      i += 1;
    }
    if (sentTo < data.length) parts.push(data.subarray(sentTo));
    return parts.length === 1 && parts[0] ? parts[0] : joinBytes(parts);
  }

  /** What is still held at the end of the stream (the start of a secret that never came). */
  flush(): Uint8Array {
    const rest = this.held;
    this.held = new Uint8Array(0);
    return rest;
  }

  /** The next position at or after `from` where a secret's first byte is, or -1. */
  private nextCandidate(data: Uint8Array, from: number): number {
    let next = -1;
    for (const b of this.firsts) {
      const at = data.indexOf(b, from);
      if (at !== -1 && (next === -1 || at < next)) next = at;
    }
    return next;
  }
}

/** The parts as one new byte array (a copy: its buffer is its own). */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `body` with every configured secret masked; the body itself when there are none to mask. */
export function scrubByteStream(
  body: ReadableStream<Uint8Array>,
  secrets: readonly string[],
): ReadableStream<Uint8Array> {
  if (secrets.length === 0) return body;
  const scrubber = new ByteScrubber(secrets);
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const out = scrubber.push(chunk);
        if (out.length > 0) controller.enqueue(out);
      },
      flush(controller) {
        const rest = scrubber.flush();
        if (rest.length > 0) controller.enqueue(rest);
      },
    }),
  );
}
