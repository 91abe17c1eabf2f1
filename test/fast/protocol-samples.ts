// One request and one upstream answer per protocol, written by hand as each vendor's API returns them.
import type { ProtocolId } from '../../src/core/exchange/protocol.ts';

export interface ProtocolSample {
  /** A request body asking `prompt`. */
  request(prompt: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /** The upstream's JSON answer saying `text`. */
  answer(text: string): Record<string, unknown>;
  /** The text a client reads in an answer (a refusal's text too). */
  textOf(answer: unknown): string;
  /** Whether the answer says it was refused (each protocol's "filtered" stop). */
  refused(answer: unknown): boolean;
}

type Json = Record<string, unknown>;
/** The value at `path` inside vendor JSON (undefined where the shape differs). */
function at(value: unknown, ...path: Array<string | number>): unknown {
  let v = value;
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}
const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const usage = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

export const samples: Record<ProtocolId, ProtocolSample> = {
  chat: {
    request: (prompt, extra = {}) => ({
      model: 'm',
      messages: [{ role: 'user', content: prompt }],
      ...extra,
    }),
    answer: (text) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage,
    }),
    textOf: (a) => String(at(a, 'choices', 0, 'message', 'content')),
    refused: (a) => at(a, 'choices', 0, 'finish_reason') === 'content_filter',
  },
  completions: {
    request: (prompt, extra = {}) => ({ model: 'm', prompt, ...extra }),
    answer: (text) => ({
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }],
      usage,
    }),
    textOf: (a) => String(at(a, 'choices', 0, 'text')),
    refused: (a) => at(a, 'choices', 0, 'finish_reason') === 'content_filter',
  },
  responses: {
    request: (prompt, extra = {}) => ({ model: 'm', input: prompt, ...extra }),
    answer: (text) => ({
      id: 'resp_1',
      object: 'response',
      created_at: 1,
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: 'm',
      output: [
        {
          type: 'message',
          id: 'msg_1',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      temperature: 1,
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      usage: {
        input_tokens: 5,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 7,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 12,
      },
      metadata: {},
    }),
    textOf: (a) =>
      list(at(a, 'output'))
        .filter((i) => i['type'] === 'message')
        .flatMap((i) => list(i['content']))
        .map((p) => String(p['text'] ?? p['refusal']))
        .join(''),
    // A refusal part (a whole answer refused), or cut short by a content filter (the rest of a stream refused).
    refused: (a) =>
      list(at(a, 'output')).some((i) => list(i['content']).some((p) => p['type'] === 'refusal')) ||
      at(a, 'incomplete_details', 'reason') === 'content_filter',
  },
  messages: {
    request: (prompt, extra = {}) => ({
      model: 'claude',
      max_tokens: 256,
      messages: [{ role: 'user', content: prompt }],
      ...extra,
    }),
    answer: (text) => ({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 7 },
    }),
    textOf: (a) =>
      list(at(a, 'content'))
        .filter((b) => b['type'] === 'text')
        .map((b) => String(b['text']))
        .join(''),
    refused: (a) => at(a, 'stop_reason') === 'refusal',
  },
};
