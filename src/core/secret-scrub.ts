// Keeps Tenet's configured secrets out of the answers it sends: whole answers, and streams split at any point.
import type { Completion } from './completion.ts';

/** What a secret becomes in an answer (the same marker the log uses). */
export const secretMask = '[redacted]';

/** The secrets worth scrubbing, longest first (a secret that contains another is replaced whole). */
export function scrubbable(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(secretMask);
  return out;
}

/**
 * A whole answer without the secrets, or undefined when it has none. The check runs on the serialized
 * completion, so a secret written with JSON `\u` escapes by the upstream is found as well.
 */
export function scrubCompletion(completion: Completion, secrets: readonly string[]): Completion | undefined {
  if (secrets.length === 0) return undefined;
  const json = JSON.stringify(completion);
  let out = json;
  for (const secret of secrets) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (out.includes(escaped)) out = out.split(escaped).join(secretMask);
  }
  return out === json ? undefined : (JSON.parse(out) as Completion);
}

/** True when raw answer text may hold a secret (as written, or hidden behind `\u` escapes). */
export function mayHoldSecret(raw: string, secrets: readonly string[]): boolean {
  return secrets.length > 0 && (raw.includes('\\u') || secrets.some((s) => raw.includes(s)));
}

/**
 * Scrubs one streamed text (a choice's content, a tool call's arguments) delta by delta. A secret split
 * over any number of deltas never goes out: text that could be the start of a secret is held back until
 * the next delta shows whether it is (then it is masked) or not (then it goes out unchanged).
 */
export class StreamScrubber {
  private readonly held = new Map<string, string>();

  constructor(private readonly secrets: readonly string[]) {}

  /** The text to send now for this delta of stream `key`. */
  push(key: string, delta: string): string {
    const text = replaceAll((this.held.get(key) ?? '') + delta, this.secrets);
    const keep = this.partialSuffix(text);
    if (keep === 0) this.held.delete(key);
    else this.held.set(key, text.slice(text.length - keep));
    return text.slice(0, text.length - keep);
  }

  /** What is still held back for stream `key` at its end (the start of a secret that never came). */
  flush(key: string): string {
    const rest = this.held.get(key) ?? '';
    this.held.delete(key);
    return rest;
  }

  /** Keys that still hold text. */
  pending(): string[] {
    return [...this.held.keys()];
  }

  /** The length of the longest end of `text` that is the beginning of a secret (0 when none). */
  private partialSuffix(text: string): number {
    let longest = 0;
    for (const secret of this.secrets) {
      const first = secret.charCodeAt(0);
      for (let k = Math.min(secret.length - 1, text.length); k > longest; k--) {
        if (text.charCodeAt(text.length - k) === first && text.endsWith(secret.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}

interface ChunkChoice {
  index?: number;
  finish_reason?: string | null;
  delta?: {
    content?: string | null;
    tool_calls?: Array<{ index?: number; function?: { arguments?: string } }>;
  };
}
interface Chunk {
  id?: string | undefined;
  object?: string | undefined;
  created?: number | undefined;
  model?: string | undefined;
  choices?: ChunkChoice[];
}

/**
 * Scrubs the `chat.completion.chunk` events of a piece of SSE text (whole events only). Every parsed chunk is
 * also handed to `seen` (before scrubbing) so a caller that assembles the answer parses it once. Returns the
 * text to send: the input itself when nothing changed, rewritten events where a secret was masked or held back.
 * Text still held when `[DONE]` arrives goes out in one extra chunk before it.
 */
export function scrubSseEvents(
  text: string,
  scrubber: StreamScrubber,
  seen?: (chunk: unknown) => void,
  last: { chunk?: Chunk } = {},
): string {
  let changed = false;
  const blocks = text.split(/(\r?\n\r?\n)/);
  for (let i = 0; i < blocks.length; i += 2) {
    const block = blocks[i] ?? '';
    // An event's other fields (id:, event:, comments) stay as they are; its data lines are read as one.
    const lines = block.split(/\r?\n/);
    const dataLines = lines.filter((l) => l.startsWith('data:'));
    if (dataLines.length === 0) continue;
    const data = dataLines.map((l) => l.slice(l[5] === ' ' ? 6 : 5)).join('\n');
    const rewrite = (payload: string) => {
      const others = lines.filter((l) => !l.startsWith('data:'));
      blocks[i] = [...others, `data: ${payload}`].join('\n');
      changed = true;
    };
    if (data === '[DONE]') {
      const rest = scrubber.pending();
      if (rest.length === 0) continue;
      const flushed = { ...last.chunk, choices: rest.map((key) => flushChoice(key, scrubber)) };
      rewrite(`${JSON.stringify(flushed)}\n\ndata: [DONE]`);
      continue;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      continue; // not JSON: the client sees it as the upstream sent it
    }
    seen?.(chunk);
    if (typeof chunk !== 'object' || chunk === null || !Array.isArray(chunk.choices)) continue;
    last.chunk = { id: chunk.id, object: chunk.object, created: chunk.created, model: chunk.model };
    if (scrubChunk(chunk, scrubber)) rewrite(JSON.stringify(chunk));
  }
  return changed ? blocks.join('') : text;
}

/** Scrubs one parsed chunk in place; true when it changed. */
function scrubChunk(chunk: Chunk, scrubber: StreamScrubber): boolean {
  let changed = false;
  for (const choice of chunk.choices ?? []) {
    const n = choice.index ?? 0;
    const delta = choice.delta;
    const content = delta?.content;
    if (delta && typeof content === 'string') {
      const out = scrubber.push(`${n}`, content);
      if (out !== content) {
        delta.content = out;
        changed = true;
      }
    }
    for (const call of delta?.tool_calls ?? []) {
      const args = call.function?.arguments;
      if (typeof args !== 'string' || !call.function) continue;
      const out = scrubber.push(`${n}:${call.index ?? 0}`, args);
      if (out !== args) {
        call.function.arguments = out;
        changed = true;
      }
    }
    if (choice.finish_reason) {
      // The choice ends here: whatever it still holds goes out with this chunk.
      for (const key of scrubber.pending().filter((k) => k === `${n}` || k.startsWith(`${n}:`))) {
        const rest = scrubber.flush(key);
        const d = choice.delta ?? {};
        choice.delta = d;
        if (key === `${n}`) d.content = (d.content ?? '') + rest;
        else
          d.tool_calls = [
            ...(d.tool_calls ?? []),
            { index: Number(key.split(':')[1]), function: { arguments: rest } },
          ];
        changed = true;
      }
    }
  }
  return changed;
}

/** A choice delta carrying what one stream key still holds. */
function flushChoice(key: string, scrubber: StreamScrubber): ChunkChoice {
  const [choice, call] = key.split(':');
  const rest = scrubber.flush(key);
  return {
    index: Number(choice),
    finish_reason: null,
    delta:
      call === undefined
        ? { content: rest }
        : { tool_calls: [{ index: Number(call), function: { arguments: rest } }] },
  };
}
