// Streamed `text_completion` chunks: folding an upstream's stream into one answer, and streaming an answer out.
import { TenetError } from '../../core/errors.ts';
import type { Usage } from '../../core/exchange/conversation.ts';
import { textPieces } from '../../core/exchange/conversation.ts';
import type { SseEvent, StreamAssembler } from '../../core/exchange/protocol.ts';
import type { TextCompletion, TextCompletionChoice } from './answer.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of a chunk the assembler rebuilds itself; any other non-null one is kept as the upstream sent it. */
const ownFields = new Set(['id', 'object', 'created', 'model', 'choices', 'usage']);
const ownChoiceFields = new Set(['text', 'index', 'logprobs', 'finish_reason']);

/** Parses one event's data as a chunk; null for what carries none (`[DONE]`, comments, pings). */
export function chunkOf(event: SseEvent): Json | null {
  if (event.event === 'ping' || event.data.trim() === '' || event.data === '[DONE]') return null;
  let chunk = event.json;
  if (chunk === undefined) {
    try {
      chunk = JSON.parse(event.data);
    } catch {
      chunk = undefined;
    }
  }
  if (!isObject(chunk))
    throw new TenetError(
      'upstream_invalid_response',
      'The upstream model sent a stream chunk that is not JSON.',
    );
  const error = chunk['error'];
  if (isObject(error)) {
    const message = typeof error['message'] === 'string' ? error['message'] : 'no message';
    throw new TenetError(
      'upstream_stream_broken',
      `The upstream model's stream ended with an error: ${message}`,
    );
  }
  return chunk;
}

/**
 * Streamed logprobs come per chunk (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset` for that chunk's
 * tokens): the whole answer's are their concatenation.
 */
function mergeLogprobs(into: unknown, more: unknown): unknown {
  if (!isObject(more)) return into;
  if (!isObject(into)) return { ...more };
  const out: Json = { ...into };
  for (const [key, value] of Object.entries(more)) {
    const prev = out[key];
    out[key] = Array.isArray(prev) && Array.isArray(value) ? [...prev, ...value] : value;
  }
  return out;
}

/** Folds `text_completion` chunks into the answer the non-streamed API would have returned. */
export class TextCompletionAssembler implements StreamAssembler<TextCompletion> {
  #id = '';
  #created = 0;
  #model = '';
  #object = 'text_completion';
  #extra: Json = {};
  #usage: Usage | null = null;
  #choices = new Map<number, TextCompletionChoice>();

  add(event: SseEvent): void {
    const chunk = chunkOf(event);
    if (chunk) this.addChunk(chunk);
  }

  /** Adds an already parsed chunk (a caller that parsed it for another reason need not parse it twice). */
  addChunk(chunk: Json): void {
    if (!this.#id && typeof chunk['id'] === 'string') this.#id = chunk['id'];
    if (!this.#created && typeof chunk['created'] === 'number') this.#created = chunk['created'];
    if (!this.#model && typeof chunk['model'] === 'string') this.#model = chunk['model'];
    if (typeof chunk['object'] === 'string') this.#object = chunk['object'];
    for (const [key, value] of Object.entries(chunk))
      if (!ownFields.has(key) && value != null) this.#extra[key] = value;
    if (isObject(chunk['usage'])) this.#usage = chunk['usage'] as Usage;
    if (!Array.isArray(chunk['choices'])) return;
    for (const c of chunk['choices']) {
      if (!isObject(c) || typeof c['index'] !== 'number') continue;
      let choice = this.#choices.get(c['index']);
      if (!choice) {
        choice = { text: '', index: c['index'], logprobs: null, finish_reason: null };
        this.#choices.set(c['index'], choice);
      }
      if (typeof c['text'] === 'string') choice.text += c['text'];
      choice.logprobs = mergeLogprobs(choice.logprobs, c['logprobs']);
      if (c['finish_reason'] != null) choice.finish_reason = String(c['finish_reason']);
      for (const [key, value] of Object.entries(c))
        if (!ownChoiceFields.has(key) && value != null) choice[key] = value;
    }
  }

  /**
   * After add(event): how to add a chunk identical to it but for the text of choice `key`, when adding one would
   * only append that text: one choice, finishing nothing, with no log probabilities (add() merges those). See
   * StreamAssembler.appender.
   */
  appender(event: SseEvent, key: string): ((text: string) => void) | undefined {
    const chunk = event.json;
    if (!isObject(chunk) || !Array.isArray(chunk['choices']) || chunk['choices'].length !== 1)
      return undefined;
    const c: unknown = chunk['choices'][0];
    if (!isObject(c) || typeof c['index'] !== 'number' || key !== `${c['index']}`) return undefined;
    if (typeof c['text'] !== 'string' || c['finish_reason'] != null || c['logprobs'] != null)
      return undefined;
    const choice = this.#choices.get(c['index']);
    if (!choice) return undefined;
    return (text) => {
      choice.text += text;
    };
  }

  result(): TextCompletion {
    return {
      id: this.#id,
      object: this.#object,
      created: this.#created,
      model: this.#model,
      ...this.#extra,
      choices: [...this.#choices.values()].sort((a, b) => a.index - b.index),
      ...(this.#usage ? { usage: this.#usage } : {}),
    };
  }
}

/**
 * Writes `answer` as the SSE stream the API sends: per choice its text in pieces, then a chunk with its
 * finish_reason; the usage chunk (`choices: []`) when the client asked for it; `[DONE]`. A choice's logprobs
 * ride on its first chunk, so a client that merges them per chunk gets them whole.
 */
export function textCompletionToSse(answer: TextCompletion, options: { includeUsage: boolean }): string {
  const base: Json = {
    id: answer.id,
    object: 'text_completion',
    created: answer.created,
    model: answer.model,
  };
  if (answer['system_fingerprint'] != null) base['system_fingerprint'] = answer['system_fingerprint'];
  const event = (choices: unknown[], extra: Json = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;
  let out = '';
  for (const choice of answer.choices) {
    let logprobs = choice.logprobs ?? null;
    const at = (text: string, finish: string | null) => {
      const c = { text, index: choice.index, logprobs, finish_reason: finish };
      logprobs = null;
      return c;
    };
    for (const piece of textPieces(choice.text)) out += event([at(piece, null)]);
    out += event([at('', choice.finish_reason ?? 'stop')]);
  }
  if (options.includeUsage)
    out += event([], { usage: answer.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
  return `${out}data: [DONE]\n\n`;
}
