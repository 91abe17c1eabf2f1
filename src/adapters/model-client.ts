// Model calls to OpenAI-compatible servers: the critic (structured output) and revisions (the client's model).
//
// One POST /chat/completions per call over the runtime's upstream transport (undici's dispatcher on Node, fetch
// on Workers), written by hand rather than through the openai SDK: it is one request, and the SDK's per-call work
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
import { EventsDecoder, parseSse, SseFramer } from '../core/sse.ts';
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
  /** The runtime's transport (Node: undici's dispatcher); fetch's by default, and whenever `fetch` is given. */
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
  /**
   * The same call streamed: `onText` gets the answer's text as it is written (a continuation revision shows
   * while it is written). A server that answers whole anyway is read whole. Text only: no structured output.
   */
  chatStream?(
    messages: ChatMessage[],
    options: ChatOptions,
    onText: (delta: string) => void,
  ): Promise<ModelReply>;
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

  /** Sends one call; a call that gets no answer is a ModelCallError. */
  const post = async (params: object, chat: ChatOptions, accept: string): Promise<UpstreamReply> => {
    try {
      return await transport.send({
        method: 'POST',
        path: '/chat/completions',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify(params),
        apiKey: chat.apiKey,
        signal: chat.signal,
      });
    } catch (err) {
      throw unanswered(err);
    }
  };

  /** A reply read whole: the completion, or a ModelCallError (a refused call, an answer that is not JSON). */
  const completionOf = async (reply: UpstreamReply): Promise<ChatCompletion> => {
    let text: string;
    try {
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

  /** One call: the completion, or a ModelCallError. */
  const send = async (params: ChatCompletionCreateParamsNonStreaming, chat: ChatOptions) =>
    completionOf(await post(params, chat, 'application/json'));

  /** The request's parameters: the call's own, then the revision contract's wire fields. */
  const paramsOf = (
    messages: ChatMessage[],
    chat: ChatOptions,
    format: ChatOptions['responseFormat'] | { type: 'json_object' } | undefined,
  ): ChatCompletionCreateParamsNonStreaming => {
    const wire = chat.contract?.wire ?? {};
    const maxTokens = chat.maxTokens ?? chat.contract?.maxTokens;
    return {
      ...(wire as Partial<ChatCompletionCreateParamsNonStreaming>),
      model: chat.model,
      messages: messages as ChatCompletionMessageParam[],
      ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
      // The client's own spelling of its limit wins (newer models refuse max_tokens).
      ...(maxTokens !== undefined && wire['max_completion_tokens'] === undefined
        ? { max_tokens: maxTokens }
        : {}),
      ...(format ? { response_format: format } : {}),
    };
  };

  return {
    async chat(messages, chat) {
      let completion: ChatCompletion;
      if (chat.responseFormat && jsonSchemaSupported) {
        try {
          completion = await send(paramsOf(messages, chat, chat.responseFormat), chat);
        } catch (err) {
          if (!(err instanceof JsonSchemaRejected)) throw err;
          jsonSchemaSupported = false;
          completion = await send(paramsOf(messages, chat, { type: 'json_object' }), chat);
        }
      } else {
        completion = await send(
          paramsOf(messages, chat, chat.responseFormat ? { type: 'json_object' } : undefined),
          chat,
        );
      }
      return replyOf(completion);
    },

    async chatStream(messages, chat, onText) {
      const params = {
        ...paramsOf(messages, chat, undefined),
        stream: true,
        stream_options: { include_usage: true },
      };
      const reply = await post(params, chat, 'text/event-stream');
      const streamed = (reply.response.headers.get('content-type') ?? '').includes('text/event-stream');
      if (!reply.response.ok || !streamed) {
        // Refused, or answered whole (a server that does not stream): the text arrives at once.
        const whole = replyOf(await completionOf(reply));
        if (whole.content) onText(whole.content);
        return whole;
      }
      const reader = reply.stream().getReader();
      const framer = new SseFramer();
      const decoder = new EventsDecoder();
      let content = '';
      let usage: ChatCompletion['usage'] | undefined;
      // The call's deadline applies between chunks too: a stalled stream is a timed-out call.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stall = () => {
        clearTimeout(timer);
        timer = setTimeout(() => reply.abort(new Error('stalled')), options.timeoutMs);
      };
      try {
        for (;;) {
          stall();
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (err) {
            throw unanswered(err);
          }
          if (next.done) break;
          const events = framer.push(next.value);
          if (!events) continue;
          for (const event of parseSse(decoder.decode(events))) {
            if (event.data === '[DONE]') continue;
            let chunk: {
              choices?: Array<{ delta?: { content?: string | null } }>;
              usage?: ChatCompletion['usage'];
              error?: unknown;
            };
            try {
              chunk = JSON.parse(event.data) as typeof chunk;
            } catch {
              continue;
            }
            if (chunk.error !== undefined)
              throw new ModelCallError(
                `the model's stream reported an error: ${JSON.stringify(chunk.error).slice(0, 300)}`,
                {},
              );
            const delta = chunk.choices?.[0]?.delta?.content;
            if (delta) {
              content += delta;
              onText(delta);
            }
            if (chunk.usage) usage = chunk.usage;
          }
        }
      } finally {
        clearTimeout(timer);
      }
      return replyOf({ choices: [{ message: { content } }], usage } as unknown as ChatCompletion);
    },
  };
}

/** A completion as the loop reads it: its text, its tool calls, its tokens (cached ones too, when reported). */
function replyOf(completion: ChatCompletion): ModelReply {
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
}
