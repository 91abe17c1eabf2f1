// Recorded-shape Responses API answers and streams for this folder's tests (ids and texts shortened).
import type { ResponseObject } from './shape.ts';

const tools = [
  {
    type: 'function',
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    strict: true,
  },
];

/** A response as `POST /v1/responses` returns it, with `overrides` on top. */
export function recordedResponse(overrides: Partial<ResponseObject> = {}): ResponseObject {
  return {
    id: 'resp_68a1',
    object: 'response',
    created_at: 1755000000,
    status: 'completed',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: 'You are terse.',
    max_output_tokens: null,
    model: 'gpt-4.1-2025-04-14',
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools,
    top_p: 1,
    truncation: 'disabled',
    usage: {
      input_tokens: 80,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 30,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 110,
    },
    metadata: {},
    ...overrides,
  };
}

export const textPart = (text: string, annotations: unknown[] = []) => ({
  type: 'output_text',
  text,
  annotations,
  logprobs: [],
});

export const message = (id: string, ...content: unknown[]) => ({
  id,
  type: 'message',
  status: 'completed',
  role: 'assistant',
  content,
});

export const functionCall = (id: string, callId: string, args: string) => ({
  id,
  type: 'function_call',
  status: 'completed',
  call_id: callId,
  name: 'get_weather',
  arguments: args,
});

export const citation = {
  type: 'url_citation',
  start_index: 0,
  end_index: 5,
  url: 'https://example.com/paris',
  title: 'Paris',
};

/** Two message items (the first with two text parts, one cited) and a function call after them. */
export function multiPartResponse(): ResponseObject {
  return recordedResponse({
    output: [
      message('msg_a', textPart('Paris is', [citation]), textPart(' sunny today.')),
      message('msg_b', textPart(' Let me check the forecast.')),
      functionCall('fc_a', 'call_1', '{"city":"Paris"}'),
    ],
  });
}

/** The events of a streamed answer with one text part and one function call, as the API sends them. */
export function recordedStream(): { event: string; data: string }[] {
  const done = recordedResponse({
    output: [message('msg_1', textPart('Hello there!')), functionCall('fc_1', 'call_9', '{"city":"Oslo"}')],
  });
  const started = { ...done, status: 'in_progress', output: [], usage: null };
  const events: Record<string, unknown>[] = [
    { type: 'response.created', response: started },
    { type: 'response.in_progress', response: started },
    {
      type: 'response.output_item.added',
      output_index: 0,
      item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    },
    {
      type: 'response.content_part.added',
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      part: textPart(''),
    },
    ...['Hello', ' there', '!'].map((delta) => ({
      type: 'response.output_text.delta',
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: [],
    })),
    {
      type: 'response.output_text.done',
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      text: 'Hello there!',
      logprobs: [],
    },
    {
      type: 'response.content_part.done',
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      part: textPart('Hello there!'),
    },
    { type: 'response.output_item.done', output_index: 0, item: message('msg_1', textPart('Hello there!')) },
    {
      type: 'response.output_item.added',
      output_index: 1,
      item: { ...functionCall('fc_1', 'call_9', ''), status: 'in_progress' },
    },
    ...['{"city":', '"Oslo"}'].map((delta) => ({
      type: 'response.function_call_arguments.delta',
      item_id: 'fc_1',
      output_index: 1,
      delta,
    })),
    {
      type: 'response.function_call_arguments.done',
      item_id: 'fc_1',
      output_index: 1,
      name: 'get_weather',
      arguments: '{"city":"Oslo"}',
    },
    {
      type: 'response.output_item.done',
      output_index: 1,
      item: functionCall('fc_1', 'call_9', '{"city":"Oslo"}'),
    },
    { type: 'response.completed', response: done },
  ];
  return events.map((e, i) => ({
    event: String(e['type']),
    data: JSON.stringify({ ...e, sequence_number: i }),
  }));
}

export const sseText = (events: { event: string; data: string }[]) =>
  events.map((e) => `event: ${e.event}\ndata: ${e.data}\n\n`).join('');
