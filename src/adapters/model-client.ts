// Model calls to OpenAI-compatible servers: the critic (structured output) and revisions (the client's model).
//
// One POST /chat/completions per call over the runtime's upstream transport (node:http on Node, fetch on
// Workers), written by hand rather than through the openai SDK: it is one request, and the SDK's per-call work
// (its headers, options and promise layers, a web Response decoded per answer) cost more CPU than the rest of
// a judged answer's handling (`npm run bench -- --loop-only`). Only the SDK's types are used.
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ChatMessage } from '../core/critique.ts';
import { TenetError } from '../core/errors.ts';
import { ModelCallError, type ModelReply } from '../core/loop.ts';
import type { OutputContract } from '../core/output-contract.ts';
import {
  createUpstream,
  type HeaderReader,
  type Upstream,
  type UpstreamOptions,
  type UpstreamReply,
} from './upstream.ts';

export interface ModelClientOptions {
  baseURL: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** The test seam: the calls go through this fetch. */
  fetch?: typeof fetch;
  /** The runtime's transport (Node: node:http); fetch's by default, and whenever `fetch` is given. */
  upstream?: (options: UpstreamOptions) => Upstream;
}

export interface ChatOptions {
  model: string;
  /** Structured output; servers without `json_schema` support get JSON mode and the answer is validated anyway. */
  responseFormat?: {
    type: 'json_schema';
    json_schema: { name: string; strict: boolean; schema: Record<string, unknown> };
  };
  temperature?: number;
  maxTokens?: number;
  /** A revision's output contract: its wire fields (tools, tool_choice, response_format) go into the request. */
  contract?: OutputContract | undefined;
  /** Bring-your-own-key: the client's key for this call. */
  apiKey?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface ModelClient {
  chat(messages: ChatMessage[], options: ChatOptions): Promise<ModelReply>;
}

/** Milliseconds a server asked to wait (`retry-after-ms`, `retry-after` in seconds or as an HTTP date). */
export function retryAfterMs(
  headers: Pick<HeaderReader, 'get'> | undefined,
  now = Date.now(),
): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A 400 that says the server does not understand `response_format: json_schema`: JSON mode is tried instead. */
class JsonSchemaRejected extends ModelCallError {}

/** An OpenAI error body, `{"error": {"message", "param", …}}` (some servers send a bare string). */
interface ErrorBody {
  error?: { message?: unknown; param?: unknown } | string;
}

/** The failed call as the loop sees it: the status and the server's own words (`429 Rate limit reached …`). */
function failure(reply: UpstreamReply, text: string): ModelCallError {
  const { status, headers } = reply.response;
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  const error = body?.error;
  const said =
    typeof error === 'string'
      ? error
      : typeof error?.message === 'string'
        ? error.message
        : text.trim().slice(0, 300) || 'status code (no body)';
  const message = `${status} ${said}`;
  const param = typeof error === 'object' && typeof error.param === 'string' ? error.param : '';
  if (status === 400 && /response_format|json_schema|structured output/i.test(`${message} ${param}`))
    return new JsonSchemaRejected(message, { status });
  const wait = status === 429 || status === 503 ? retryAfterMs(headers) : undefined;
  return new ModelCallError(message, { status, retryAfterMs: wait });
}

/** A call that got no answer: the transport's deadline, or the server out of reach (or the client gone). */
function unanswered(err: unknown): ModelCallError {
  if (err instanceof TenetError && err.code === 'upstream_timeout')
    return new ModelCallError('the model call timed out', { timedOut: true });
  const cause = err instanceof TenetError && err.cause !== undefined ? err.cause : err;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ModelCallError(`the model server could not be reached (${why})`, {});
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const transportOptions = {
    baseUrl: options.baseURL,
    // As the SDK did: local servers (Ollama, vLLM) take any key, and a keyless call still sends one.
    apiKey: options.apiKey ?? 'none',
    timeoutMs: options.timeoutMs,
  };
  const transport = options.fetch
    ? createUpstream({ ...transportOptions, fetch: options.fetch })
    : (options.upstream ?? createUpstream)(transportOptions);
  let jsonSchemaSupported = true;

  /** One call: the completion, or a ModelCallError. */
  const send = async (
    params: ChatCompletionCreateParamsNonStreaming,
    chat: ChatOptions,
  ): Promise<ChatCompletion> => {
    let reply: UpstreamReply;
    let text: string;
    try {
      reply = await transport.send({
        method: 'POST',
        path: '/chat/completions',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(params),
        apiKey: chat.apiKey,
        signal: chat.signal,
      });
      text = await reply.text();
    } catch (err) {
      throw unanswered(err);
    }
    if (!reply.response.ok) throw failure(reply, text);
    try {
      return JSON.parse(text) as ChatCompletion;
    } catch {
      throw new ModelCallError(`${reply.response.status} the answer is not JSON: ${text.slice(0, 100)}`, {
        status: reply.response.status,
      });
    }
  };

  return {
    async chat(messages, chat) {
      const wire = chat.contract?.wire ?? {};
      const maxTokens = chat.maxTokens ?? chat.contract?.maxTokens;
      const params = (
        format: ChatOptions['responseFormat'] | { type: 'json_object' } | undefined,
      ): ChatCompletionCreateParamsNonStreaming => ({
        ...(wire as Partial<ChatCompletionCreateParamsNonStreaming>),
        model: chat.model,
        messages: messages as ChatCompletionMessageParam[],
        ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
        // The client's own spelling of its limit wins (newer models refuse max_tokens).
        ...(maxTokens !== undefined && wire['max_completion_tokens'] === undefined
          ? { max_tokens: maxTokens }
          : {}),
        ...(format ? { response_format: format } : {}),
      });
      let completion: ChatCompletion;
      if (chat.responseFormat && jsonSchemaSupported) {
        try {
          completion = await send(params(chat.responseFormat), chat);
        } catch (err) {
          if (!(err instanceof JsonSchemaRejected)) throw err;
          jsonSchemaSupported = false;
          completion = await send(params({ type: 'json_object' }), chat);
        }
      } else {
        completion = await send(params(chat.responseFormat ? { type: 'json_object' } : undefined), chat);
      }
      const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      const cached = usage.prompt_tokens_details?.cached_tokens;
      const message = completion.choices?.[0]?.message;
      const toolCalls = (message?.tool_calls ?? []).flatMap((t) =>
        t.type === 'function' ? [{ id: t.id, name: t.function.name, arguments: t.function.arguments }] : [],
      );
      return {
        content: message?.content ?? '',
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
        usage: {
          prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          total_tokens: usage.total_tokens,
          ...(typeof cached === 'number' ? { cached_tokens: cached } : {}),
        },
      };
    },
  };
}
