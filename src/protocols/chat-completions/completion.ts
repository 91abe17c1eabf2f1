// Chat completions as data: assembling streamed chunks into one completion, and streaming one out as chunks.
import type { Usage } from '../../core/exchange/conversation.ts';
import { textPieces } from '../../core/exchange/conversation.ts';

export interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export interface CompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  tool_calls?: ToolCall[];
  [extra: string]: unknown;
}

export interface CompletionChoice {
  index: number;
  message: CompletionMessage;
  finish_reason: string | null;
  logprobs: unknown;
}

export type { Usage };

/** A `chat.completion` object (extra fields an upstream sends are kept). */
export interface Completion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
  [extra: string]: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A field add() would append nothing for. */
const noText = (v: unknown) => v === undefined || v === null || v === '';

/** Fields of a chunk kept on the assembled completion as the last chunk had them. */
const extraKeys = ['system_fingerprint', 'service_tier'] as const;

/** Folds `chat.completion.chunk` objects into the completion they spell out. */
export class ChunkAssembler {
  #id = '';
  #created = 0;
  #model = '';
  #extra: Json = {};
  #usage: Usage | null = null;
  #choices = new Map<number, CompletionChoice>();

  add(chunk: unknown): void {
    if (!isObject(chunk)) return;
    if (!this.#id && typeof chunk['id'] === 'string') this.#id = chunk['id'];
    if (!this.#created && typeof chunk['created'] === 'number') this.#created = chunk['created'];
    if (!this.#model && typeof chunk['model'] === 'string') this.#model = chunk['model'];
    for (const key of extraKeys) if (chunk[key] != null) this.#extra[key] = chunk[key];
    if (isObject(chunk['usage'])) this.#usage = chunk['usage'] as Usage;
    if (!Array.isArray(chunk['choices'])) return;
    for (const c of chunk['choices']) {
      if (!isObject(c) || typeof c['index'] !== 'number') continue;
      let choice = this.#choices.get(c['index']);
      if (!choice) {
        choice = {
          index: c['index'],
          message: { role: 'assistant', content: null, refusal: null },
          finish_reason: null,
          logprobs: null,
        };
        this.#choices.set(c['index'], choice);
      }
      if (c['finish_reason'] != null) choice.finish_reason = String(c['finish_reason']);
      const delta = c['delta'];
      if (!isObject(delta)) continue;
      if (typeof delta['content'] === 'string')
        choice.message.content = (choice.message.content ?? '') + delta['content'];
      if (typeof delta['refusal'] === 'string')
        choice.message.refusal = (choice.message.refusal ?? '') + delta['refusal'];
      if (Array.isArray(delta['tool_calls'])) {
        choice.message.tool_calls ??= [];
        const calls = choice.message.tool_calls;
        for (const t of delta['tool_calls']) {
          if (!isObject(t)) continue;
          const at = typeof t['index'] === 'number' ? t['index'] : calls.length;
          calls[at] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
          const call = calls[at];
          if (typeof t['id'] === 'string') call.id = t['id'];
          if (typeof t['type'] === 'string') call.type = t['type'];
          const fn = t['function'];
          if (isObject(fn)) {
            if (typeof fn['name'] === 'string') call.function.name += fn['name'];
            if (typeof fn['arguments'] === 'string') call.function.arguments += fn['arguments'];
          }
        }
      }
    }
  }

  /**
   * After add(chunk): how to add a chunk identical to it but for the text of slot `key` (`n` for choice n's
   * content, `n:k` for its tool call k's arguments), when adding one would only append that text: the chunk is
   * one choice's, finishes nothing and carries no other text that add() appends (a refusal, a tool's name, the
   * other of content and arguments). See StreamAssembler.appender.
   */
  appender(chunk: unknown, key: string): ((text: string) => void) | undefined {
    if (!isObject(chunk) || !Array.isArray(chunk['choices']) || chunk['choices'].length !== 1)
      return undefined;
    const c: unknown = chunk['choices'][0];
    if (!isObject(c) || typeof c['index'] !== 'number' || c['finish_reason'] != null) return undefined;
    const delta = c['delta'];
    const choice = this.#choices.get(c['index']);
    if (!isObject(delta) || !choice || !noText(delta['refusal'])) return undefined;
    const calls = delta['tool_calls'];
    if (key === `${c['index']}`) {
      if (typeof delta['content'] !== 'string' || !(calls === undefined || calls === null)) return undefined;
      const message = choice.message;
      return (text) => {
        message.content = (message.content ?? '') + text;
      };
    }
    if (!noText(delta['content']) || !Array.isArray(calls) || calls.length !== 1) return undefined;
    const t: unknown = calls[0];
    if (!isObject(t) || typeof t['index'] !== 'number' || key !== `${c['index']}:${t['index']}`)
      return undefined;
    const fn = t['function'];
    const call = choice.message.tool_calls?.[t['index']];
    if (!isObject(fn) || typeof fn['arguments'] !== 'string' || !noText(fn['name']) || !call)
      return undefined;
    return (text) => {
      call.function.arguments += text;
    };
  }

  result(): Completion {
    return {
      id: this.#id,
      object: 'chat.completion',
      created: this.#created,
      model: this.#model,
      ...this.#extra,
      choices: [...this.#choices.values()].sort((a, b) => a.index - b.index),
      ...(this.#usage ? { usage: this.#usage } : {}),
    };
  }
}

/** Writes `completion` as the SSE events of a stream: role first, content, one finish_reason per choice, usage when asked, `[DONE]`. */
export function completionToSse(completion: Completion, options: { includeUsage: boolean }): string {
  const base: Json = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
  };
  for (const key of ['system_fingerprint', 'service_tier'])
    if (completion[key] != null) base[key] = completion[key];
  if (options.includeUsage) base['usage'] = null;
  const event = (choices: unknown[], extra: Json = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;
  let out = '';
  for (const choice of completion.choices) {
    const at = (delta: Json, finish: string | null = null) => ({
      index: choice.index,
      delta,
      logprobs: null,
      finish_reason: finish,
    });
    const m = choice.message;
    out += event([at({ role: 'assistant', content: '', refusal: null })]);
    for (const piece of textPieces(m.content ?? '')) out += event([at({ content: piece })]);
    if (m.refusal) out += event([at({ refusal: m.refusal })]);
    (m.tool_calls ?? []).forEach((call, index) => {
      out += event([at({ tool_calls: [{ index, id: call.id, type: call.type, function: call.function }] })]);
    });
    out += event([at({}, choice.finish_reason ?? 'stop')]);
  }
  if (options.includeUsage)
    out += event([], {
      usage: completion.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    });
  return `${out}data: [DONE]\n\n`;
}

/** A choice replaced by the constitution's refusal: a normal answer that says no, `finish_reason: content_filter`. */
export function refusalChoice(index: number, message: string): CompletionChoice {
  return {
    index,
    message: { role: 'assistant', content: message, refusal: null },
    finish_reason: 'content_filter',
    logprobs: null,
  };
}

/** A whole completion that refuses, for a request refused before any model was asked. */
export function refusalCompletion(model: string, message: string, n = 1): Completion {
  return {
    id: `chatcmpl-tenet-${crypto.randomUUID().replaceAll('-', '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: Array.from({ length: n }, (_, i) => refusalChoice(i, message)),
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}
