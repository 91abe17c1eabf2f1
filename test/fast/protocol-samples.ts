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

type Json = Record<string, any>;
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
    textOf: (a) => (a as Json).choices[0].message.content,
    refused: (a) => (a as Json).choices[0].finish_reason === 'content_filter',
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
    textOf: (a) => (a as Json).choices[0].text,
    refused: (a) => (a as Json).choices[0].finish_reason === 'content_filter',
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
      ((a as Json).output as Json[])
        .filter((i) => i.type === 'message')
        .flatMap((i) => i.content as Json[])
        .map((p) => p.text ?? p.refusal)
        .join(''),
    refused: (a) =>
      ((a as Json).output as Json[]).some((i) => (i.content ?? []).some((p: Json) => p.type === 'refusal')),
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
      ((a as Json).content as Json[])
        .filter((b) => b.type === 'text')
        .map((b) => b.text)
        .join(''),
    refused: (a) => (a as Json).stop_reason === 'refusal',
  },
};
