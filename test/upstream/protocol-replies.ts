// Upstream answers in the Responses, legacy Completions and Anthropic Messages protocols, built from the vendors' API docs.
/*
 * Written independently from Tenet's own protocol code (never import src/ here): the scripted upstream plays a peer.
 *
 *   { json: response('Paris.') }                                   // POST /v1/responses
 *   { stream: responseEvents(['Par', 'is.']), done: false }        // its SSE stream, ends with response.completed
 *   { json: textCompletion('Paris.') }                             // POST /v1/completions
 *   { stream: textCompletionChunks('Paris.') }                     // chunks + data: [DONE]
 *   { json: anthropicMessage('Paris.') }                           // POST /v1/messages
 *   { stream: anthropicEvents('Paris.'), done: false }             // ends with message_stop
 *   anthropicError(429, 'rate_limit_error', 'Slow down.')
 */
import { estimateTokens, type JsonReply } from './script.ts';

function randomId(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 24; i++) id += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)];
  return id;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Splits after each whitespace run so the pieces concatenate back to `text`. */
function piecesOf(text: string | string[]): string[] {
  if (Array.isArray(text)) return text;
  return text.match(/\S*\s*/g)?.filter((p) => p !== '') ?? [];
}

/** One server-sent event with a name, as OpenAI's Responses and Anthropic's Messages streams write them. */
const namedEvent = (name: string, data: unknown): string =>
  `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

// ---------------------------------------------------------------------------------------------------------
// OpenAI Responses API

/** An output item to build: text (a string, or its pieces for streams) or a function call. */
export type ResponseItemInput =
  | string
  | string[]
  | { function_call: { name: string; arguments: string | Record<string, unknown>; call_id?: string } };

export interface ResponseOptions {
  id?: string;
  model?: string;
  createdAt?: number;
  inputTokens?: number;
  /** Token logprobs on each text (as `include: ['message.output_text.logprobs']` asks), one per piece. */
  logprobs?: boolean;
}

/** One logprob entry per piece, the piece as its token (what a client asking for logprobs gets). */
function responseLogprobs(pieces: string[], on: boolean | undefined) {
  if (!on) return [];
  return pieces.map((token) => ({
    token,
    logprob: -0.25,
    bytes: [...new TextEncoder().encode(token)],
    top_logprobs: [],
  }));
}

interface BuiltItem {
  /** The item as it ends up in `response.output`. */
  done: Record<string, unknown>;
  /** The pieces a stream sends: text deltas or argument deltas. */
  pieces: string[];
}

function buildItem(input: ResponseItemInput, logprobs?: boolean): BuiltItem {
  if (typeof input === 'string' || Array.isArray(input)) {
    const pieces = piecesOf(input);
    return {
      pieces,
      done: {
        id: randomId('msg_'),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [
          {
            type: 'output_text',
            text: pieces.join(''),
            annotations: [],
            logprobs: responseLogprobs(pieces, logprobs),
          },
        ],
      },
    };
  }
  const { name, call_id } = input.function_call;
  const args =
    typeof input.function_call.arguments === 'string'
      ? input.function_call.arguments
      : JSON.stringify(input.function_call.arguments);
  return {
    pieces: args.length > 8 ? [args.slice(0, 8), args.slice(8)] : [args],
    done: {
      id: randomId('fc_'),
      type: 'function_call',
      status: 'completed',
      arguments: args,
      call_id: call_id ?? randomId('call_'),
      name,
    },
  };
}

function itemsOf(items: ResponseItemInput | ResponseItemInput[]): ResponseItemInput[] {
  return typeof items === 'string' || !Array.isArray(items) ? [items] : (items as ResponseItemInput[]);
}

function responseShell(
  opts: ResponseOptions,
  status: 'in_progress' | 'completed',
  output: Record<string, unknown>[],
  outputText: string,
): Record<string, unknown> {
  const input = opts.inputTokens ?? 12;
  const outputTokens = estimateTokens(outputText);
  const createdAt = opts.createdAt ?? now();
  const shell: Record<string, unknown> = {
    id: opts.id ?? randomId('resp_'),
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    completed_at: status === 'completed' ? createdAt + 1 : null,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: null,
    model: opts.model ?? 'gpt-4.1-2025-04-14',
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: 'default',
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: 'disabled',
    metadata: {},
  };
  // OpenAI's schema has no null usage: an unfinished response carries none.
  if (status === 'completed') {
    shell.usage = {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + outputTokens,
    };
  }
  return shell;
}

/** A completed Responses API `response` object whose output holds these items (a string: one message). */
export function response(
  items: ResponseItemInput | ResponseItemInput[],
  opts: ResponseOptions = {},
): Record<string, unknown> {
  const built = itemsOf(items).map((item) => buildItem(item, opts.logprobs));
  return responseShell(
    opts,
    'completed',
    built.map((b) => b.done),
    built.map((b) => b.pieces.join('')).join(''),
  );
}

/**
 * The SSE frames of a streamed Responses API answer, in the order OpenAI sends them, each with its
 * `sequence_number`: response.created, response.in_progress, then per item output_item.added, (for a message)
 * content_part.added, output_text.delta…, output_text.done, content_part.done, (for a function call)
 * function_call_arguments.delta…, function_call_arguments.done, then output_item.done, and response.completed.
 * Script them with `done: false`: the stream has no `data: [DONE]`.
 */
export function responseEvents(
  items: ResponseItemInput | ResponseItemInput[],
  opts: ResponseOptions = {},
): string[] {
  const built = itemsOf(items).map((item) => buildItem(item, opts.logprobs));
  const shared = { ...opts, id: opts.id ?? randomId('resp_'), createdAt: opts.createdAt ?? now() };
  let sequence = 0;
  const frames: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>) =>
    frames.push(namedEvent(type, { type, ...fields, sequence_number: sequence++ }));
  emit('response.created', { response: responseShell(shared, 'in_progress', [], '') });
  emit('response.in_progress', { response: responseShell(shared, 'in_progress', [], '') });
  built.forEach(({ done, pieces }, outputIndex) => {
    const itemId = done.id;
    if (done.type === 'message') {
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: { ...done, status: 'in_progress', content: [] },
      });
      const part = { type: 'output_text', annotations: [] };
      const at = { item_id: itemId, output_index: outputIndex, content_index: 0 };
      const all = responseLogprobs(pieces, opts.logprobs);
      emit('response.content_part.added', { ...at, part: { ...part, text: '', logprobs: [] } });
      pieces.forEach((delta, i) => {
        emit('response.output_text.delta', { ...at, delta, logprobs: all.slice(i, i + 1) });
      });
      const text = pieces.join('');
      emit('response.output_text.done', { ...at, text, logprobs: all });
      emit('response.content_part.done', { ...at, part: { ...part, text, logprobs: all } });
    } else {
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: { ...done, status: 'in_progress', arguments: '' },
      });
      const at = { item_id: itemId, output_index: outputIndex };
      for (const delta of pieces) emit('response.function_call_arguments.delta', { ...at, delta });
      emit('response.function_call_arguments.done', { ...at, name: done.name, arguments: done.arguments });
    }
    emit('response.output_item.done', { output_index: outputIndex, item: done });
  });
  const output = built.map((b) => b.done);
  const text = built.map((b) => b.pieces.join('')).join('');
  emit('response.completed', { response: responseShell(shared, 'completed', output, text) });
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI legacy Completions

export interface TextCompletionOptions {
  id?: string;
  model?: string;
  finishReason?: 'stop' | 'length' | 'content_filter';
  /** Streams: end with a `choices: []` usage chunk, as `stream_options.include_usage` asks. */
  includeUsage?: boolean;
  /** Token logprobs (as `logprobs: 1` asks): one token per piece. */
  logprobs?: boolean;
}

/** Legacy logprobs of these tokens, offsets counted from `offset`. */
function completionLogprobs(tokens: string[], on: boolean | undefined, offset = 0) {
  if (!on) return null;
  const text_offset: number[] = [];
  let at = offset;
  for (const token of tokens) {
    text_offset.push(at);
    at += token.length;
  }
  return {
    tokens,
    token_logprobs: tokens.map(() => -0.25),
    top_logprobs: tokens.map((token) => ({ [token]: -0.25 })),
    text_offset,
  };
}

const completionUsage = (text: string) => {
  const completionTokens = estimateTokens(text);
  return { prompt_tokens: 8, completion_tokens: completionTokens, total_tokens: 8 + completionTokens };
};

/** A legacy `text_completion` with one choice per text. */
export function textCompletion(
  texts: string | string[],
  opts: TextCompletionOptions = {},
): Record<string, unknown> {
  const all = typeof texts === 'string' ? [texts] : texts;
  return {
    id: opts.id ?? randomId('cmpl-'),
    object: 'text_completion',
    created: now(),
    model: opts.model ?? 'gpt-3.5-turbo-instruct',
    choices: all.map((text, index) => ({
      text,
      index,
      logprobs: completionLogprobs(piecesOf(text), opts.logprobs),
      finish_reason: opts.finishReason ?? 'stop',
    })),
    usage: completionUsage(all.join('')),
  };
}

/**
 * The streamed chunks of a legacy completion (objects: the scripted upstream sends each as `data: …` and
 * ends with `data: [DONE]`): one chunk per piece, then an empty one with the finish reason.
 */
export function textCompletionChunks(
  text: string | string[],
  opts: TextCompletionOptions = {},
): Record<string, unknown>[] {
  const id = opts.id ?? randomId('cmpl-');
  const created = now();
  const model = opts.model ?? 'gpt-3.5-turbo-instruct';
  const chunk = (piece: string, finish: string | null, logprobs: unknown = null) => ({
    id,
    object: 'text_completion',
    created,
    model,
    choices: [{ text: piece, index: 0, logprobs, finish_reason: finish }],
  });
  const pieces = piecesOf(text);
  let offset = 0;
  const out: Record<string, unknown>[] = pieces.map((piece) => {
    const one = chunk(piece, null, completionLogprobs([piece], opts.logprobs, offset));
    offset += piece.length;
    return one;
  });
  out.push(chunk('', opts.finishReason ?? 'stop'));
  if (opts.includeUsage) {
    out.push({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [],
      usage: completionUsage(pieces.join('')),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Anthropic Messages

export type AnthropicBlockInput =
  | string
  | string[]
  | { tool_use: { name: string; input: Record<string, unknown>; id?: string } };

export interface AnthropicOptions {
  id?: string;
  model?: string;
  stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal' | 'pause_turn';
  inputTokens?: number;
}

interface BuiltBlock {
  done: Record<string, unknown>;
  pieces: string[];
}

function buildBlock(input: AnthropicBlockInput): BuiltBlock {
  if (typeof input === 'string' || Array.isArray(input)) {
    const pieces = piecesOf(input);
    return { pieces, done: { type: 'text', text: pieces.join('') } };
  }
  const json = JSON.stringify(input.tool_use.input);
  const cut = Math.ceil(json.length / 2);
  return {
    // Anthropic streams tool input as partial JSON, starting with an empty delta.
    pieces: ['', json.slice(0, cut), json.slice(cut)],
    done: {
      type: 'tool_use',
      id: input.tool_use.id ?? randomId('toolu_'),
      name: input.tool_use.name,
      input: input.tool_use.input,
    },
  };
}

function blocksOf(blocks: AnthropicBlockInput | AnthropicBlockInput[]): AnthropicBlockInput[] {
  return typeof blocks === 'string' || !Array.isArray(blocks) ? [blocks] : (blocks as AnthropicBlockInput[]);
}

const stopReasonOf = (built: BuiltBlock[], opts: AnthropicOptions) =>
  opts.stopReason ?? (built.some((b) => b.done.type === 'tool_use') ? 'tool_use' : 'end_turn');

const anthropicUsage = (inputTokens: number, outputTokens: number) => ({
  input_tokens: inputTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: outputTokens,
  service_tier: 'standard',
});

/** An Anthropic `message` with these content blocks (a string: one text block). */
export function anthropicMessage(
  blocks: AnthropicBlockInput | AnthropicBlockInput[],
  opts: AnthropicOptions = {},
): Record<string, unknown> {
  const built = blocksOf(blocks).map(buildBlock);
  const outputTokens = estimateTokens(built.map((b) => b.pieces.join('')).join(''));
  return {
    id: opts.id ?? randomId('msg_01'),
    type: 'message',
    role: 'assistant',
    model: opts.model ?? 'claude-sonnet-4-6',
    content: built.map((b) => b.done),
    stop_reason: stopReasonOf(built, opts),
    stop_sequence: null,
    usage: anthropicUsage(opts.inputTokens ?? 25, outputTokens),
  };
}

/**
 * The SSE frames of a streamed Anthropic message, as the API sends them: message_start, a ping, per block
 * content_block_start, content_block_delta (text_delta or input_json_delta)…, content_block_stop, then
 * message_delta (stop reason and output tokens) and message_stop. Script them with `done: false`.
 */
export function anthropicEvents(
  blocks: AnthropicBlockInput | AnthropicBlockInput[],
  opts: AnthropicOptions = {},
): string[] {
  const built = blocksOf(blocks).map(buildBlock);
  const inputTokens = opts.inputTokens ?? 25;
  const frames = [
    namedEvent('message_start', {
      type: 'message_start',
      message: {
        id: opts.id ?? randomId('msg_01'),
        type: 'message',
        role: 'assistant',
        model: opts.model ?? 'claude-sonnet-4-6',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(inputTokens, 1),
      },
    }),
    namedEvent('ping', { type: 'ping' }),
  ];
  built.forEach(({ done, pieces }, index) => {
    const start = done.type === 'text' ? { type: 'text', text: '' } : { ...done, input: {} };
    frames.push(
      namedEvent('content_block_start', { type: 'content_block_start', index, content_block: start }),
    );
    for (const piece of pieces) {
      const delta =
        done.type === 'text'
          ? { type: 'text_delta', text: piece }
          : { type: 'input_json_delta', partial_json: piece };
      frames.push(namedEvent('content_block_delta', { type: 'content_block_delta', index, delta }));
    }
    frames.push(namedEvent('content_block_stop', { type: 'content_block_stop', index }));
  });
  frames.push(
    namedEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReasonOf(built, opts), stop_sequence: null },
      usage: { output_tokens: estimateTokens(built.map((b) => b.pieces.join('')).join('')) },
    }),
    namedEvent('message_stop', { type: 'message_stop' }),
  );
  return frames;
}

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`. */
export function anthropicErrorBody(type: AnthropicErrorType, message: string): Record<string, unknown> {
  return { type: 'error', error: { type, message }, request_id: randomId('req_011') };
}

/** A reply answering with Anthropic's error shape and its `request-id` header. */
export function anthropicError(status: number, type: AnthropicErrorType, message: string): JsonReply {
  const body = anthropicErrorBody(type, message);
  return { status, json: body, headers: { 'request-id': String(body.request_id) } };
}
