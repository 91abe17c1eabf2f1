// Reply-spec types for the scripted upstream and builders for valid chat.completion(.chunk) bodies.

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/** Every given field must hold for a reply to answer a request. */
export interface ReplyMatch {
  /** Request path without the `/s/<id>` prefix; equal to it or a suffix of it (`/chat/completions`). */
  path?: string;
  method?: string;
  /** `body.model` */
  model?: string;
  /** `body.stream === true` */
  stream?: boolean;
  /** Substring of the raw request body. */
  bodyIncludes?: string;
  /** Header name (any case) to exact value. */
  header?: Record<string, string>;
  /** `body.response_format.json_schema.name` (how a critic call is told apart from a draft call). */
  jsonSchemaName?: string;
}

interface ReplyBase {
  match?: ReplyMatch;
  /** How many matching requests this reply answers; default 1. */
  times?: number | 'always';
  /** Wait before sending headers. */
  delayMs?: number;
  /**
   * Placeholder → regular expression with one group, run on the raw request body; every occurrence of
   * the placeholder in the reply is replaced by what the group captured (e.g. a critic echoing a nonce:
   * `{ '{{nonce}}': 'TENET-([0-9a-f]+)' }`). A placeholder whose pattern finds nothing stays as it is.
   */
  captures?: Record<string, string>;
}

export interface JsonReply extends ReplyBase {
  json: unknown;
  status?: number;
  headers?: Record<string, string>;
}

export interface StreamReply extends ReplyBase {
  /** Objects are sent as `data: <JSON>\n\n`, strings are written raw (comments, broken framing). */
  stream: unknown[];
  status?: number;
  headers?: Record<string, string>;
  /** Delay before each item; an array gives one delay per item (missing entries are 0). */
  chunkDelayMs?: number | number[];
  /** Send `data: [DONE]` after the items; default true. */
  done?: boolean;
  /** Destroy the socket after this many items. */
  dropAfter?: number;
  /** Stop sending after this many items but keep the connection open. */
  stallAfter?: number;
}

export interface RawReply extends ReplyBase {
  raw: string;
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface DropReply extends ReplyBase {
  drop: true;
}

export interface StallReply extends ReplyBase {
  stall: true;
}

export interface EchoReply extends ReplyBase {
  echo: true;
}

export type ReplySpec = JsonReply | StreamReply | RawReply | DropReply | StallReply | EchoReply;

/** One request an upstream call made, as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Without the `/s/<id>` prefix, e.g. `/v1/chat/completions`. */
  path: string;
  /** Query string without `?`; empty when absent. */
  query: string;
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  /** The parsed body, present only when the body was JSON. */
  json?: unknown;
  /** Epoch milliseconds when the body had been read. */
  receivedAt: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A tool call in OpenAI's shape, or the short `{ name, arguments }` form (arguments may be an object). */
export type ToolCallInput =
  | { id?: string; type?: 'function'; function: { name: string; arguments: string } }
  | { id?: string; name: string; arguments: string | Record<string, unknown> };

export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  tool_calls?: ToolCall[];
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{ index: number; message: AssistantMessage; logprobs: null; finish_reason: FinishReason }>;
  usage: Usage;
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  refusal?: string | null;
  tool_calls?: Array<{
    index: number;
    id?: string;
    type?: 'function';
    function?: { name?: string; arguments?: string };
  }>;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: number; delta: ChunkDelta; logprobs: null; finish_reason: FinishReason | null }>;
  usage?: Usage | null;
}

export interface MessageInput {
  content?: string | null;
  tool_calls?: ToolCallInput[];
  refusal?: string | null;
  finish_reason?: FinishReason;
}

export interface CompletionInput extends MessageInput {
  /** Several choices (n > 1); when given, the top-level message fields are ignored. */
  choices?: MessageInput[];
}

export interface CompletionOptions {
  id?: string;
  model?: string;
  created?: number;
  usage?: Partial<Usage>;
}

export interface ChunksOptions extends CompletionOptions {
  finishReason?: FinishReason;
  /** End with a `choices: []` usage chunk and put `usage: null` on the others, as OpenAI does. */
  includeUsage?: boolean;
}

export interface ChunkOptions {
  id: string;
  model?: string;
  created?: number;
  finishReason?: FinishReason | null;
  usage?: Usage | null;
}

export const DEFAULT_MODEL = 'scripted-model';

function randomId(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 24; i++) id += 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)];
  return id;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** A rough token count (4 characters a token) so usage numbers are plausible and deterministic. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function usageOf(completionText: string, given: Partial<Usage> = {}): Usage {
  const prompt = given.prompt_tokens ?? 10;
  const completionTokens = given.completion_tokens ?? estimateTokens(completionText);
  return {
    prompt_tokens: prompt,
    completion_tokens: completionTokens,
    total_tokens: given.total_tokens ?? prompt + completionTokens,
  };
}

function toolCallOf(input: ToolCallInput): ToolCall {
  const id = input.id ?? randomId('call_');
  if ('function' in input) return { id, type: 'function', function: { ...input.function } };
  const args = typeof input.arguments === 'string' ? input.arguments : JSON.stringify(input.arguments);
  return { id, type: 'function', function: { name: input.name, arguments: args } };
}

function messageOf(input: MessageInput): { message: AssistantMessage; finish: FinishReason } {
  const toolCalls = input.tool_calls?.map(toolCallOf);
  const message: AssistantMessage = {
    role: 'assistant',
    content: input.content !== undefined ? input.content : toolCalls ? null : '',
    refusal: input.refusal ?? null,
  };
  if (toolCalls && toolCalls.length > 0) message.tool_calls = toolCalls;
  const finish = input.finish_reason ?? (message.tool_calls ? 'tool_calls' : 'stop');
  return { message, finish };
}

/** A valid non-streaming `chat.completion` body. */
export function completion(input: string | CompletionInput, opts: CompletionOptions = {}): ChatCompletion {
  const inputs = typeof input === 'string' ? [{ content: input }] : (input.choices ?? [input]);
  const choices = inputs.map((one, index) => {
    const { message, finish } = messageOf(one);
    return { index, message, logprobs: null, finish_reason: finish };
  });
  const text = choices
    .map(
      (c) => (c.message.content ?? '') + (c.message.tool_calls ? JSON.stringify(c.message.tool_calls) : ''),
    )
    .join('');
  return {
    id: opts.id ?? randomId('chatcmpl-'),
    object: 'chat.completion',
    created: opts.created ?? now(),
    model: opts.model ?? DEFAULT_MODEL,
    choices,
    usage: usageOf(text, opts.usage),
  };
}

/** A completion whose content is `value` as JSON, as a critic asked for structured output answers. */
export function jsonCompletion(value: unknown, opts: CompletionOptions = {}): ChatCompletion {
  return completion(JSON.stringify(value), opts);
}

/** One `chat.completion.chunk` with a single choice (or none, when `delta` is null: a usage-only chunk). */
export function chunk(delta: ChunkDelta | null, opts: ChunkOptions): ChatCompletionChunk {
  const out: ChatCompletionChunk = {
    id: opts.id,
    object: 'chat.completion.chunk',
    created: opts.created ?? now(),
    model: opts.model ?? DEFAULT_MODEL,
    choices: delta ? [{ index: 0, delta, logprobs: null, finish_reason: opts.finishReason ?? null }] : [],
  };
  if (opts.usage !== undefined) out.usage = opts.usage;
  return out;
}

/** Splits after each whitespace run so the pieces concatenate back to `text`. */
function splitPieces(text: string): string[] {
  return text.match(/\S*\s*/g)?.filter((p) => p !== '') ?? [];
}

/**
 * A valid streamed reply: role chunk, one chunk per piece (a string is split into words, an array is
 * taken as the pieces), a finish chunk with an empty delta, then a usage chunk when `includeUsage`.
 */
export function chunks(text: string | string[], opts: ChunksOptions = {}): ChatCompletionChunk[] {
  const pieces = typeof text === 'string' ? splitPieces(text) : text;
  const base: ChunkOptions = { id: opts.id ?? randomId('chatcmpl-'), created: opts.created ?? now() };
  if (opts.model !== undefined) base.model = opts.model;
  if (opts.includeUsage) base.usage = null;
  const out = [chunk({ role: 'assistant', content: '' }, base)];
  for (const piece of pieces) out.push(chunk({ content: piece }, base));
  out.push(chunk({}, { ...base, finishReason: opts.finishReason ?? 'stop' }));
  if (opts.includeUsage) out.push(chunk(null, { ...base, usage: usageOf(pieces.join(''), opts.usage) }));
  return out;
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An OpenAI-shaped error body. */
export function errorBody(
  message: string,
  opts: { type?: string; code?: string | null; param?: string | null } = {},
): ErrorBody {
  return {
    error: {
      message,
      type: opts.type ?? 'invalid_request_error',
      param: opts.param ?? null,
      code: opts.code ?? null,
    },
  };
}

/** A reply answering with an OpenAI-shaped error, e.g. `apiError(429, 'slow down', { code: 'rate_limit_exceeded' })`. */
export function apiError(
  status: number,
  message: string,
  opts: { type?: string; code?: string | null; param?: string | null; headers?: Record<string, string> } = {},
): JsonReply {
  const type = opts.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  const reply: JsonReply = { status, json: errorBody(message, { ...opts, type }) };
  if (opts.headers) reply.headers = opts.headers;
  return reply;
}
