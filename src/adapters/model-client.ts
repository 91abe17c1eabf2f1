// Model calls through the official openai SDK: the critic (structured output) and revisions (the client's model).
import OpenAI from 'openai';
import type { ChatMessage } from '../core/critique.ts';
import { ModelCallError, type ModelReply } from '../core/loop.ts';
import type { OutputContract } from '../core/output-contract.ts';

export interface ModelClientOptions {
  baseURL: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** The test seam and the runtime's fetch. */
  fetch?: typeof fetch;
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

/** True for a 400 that says the server does not understand `response_format: json_schema`. */
function rejectsJsonSchema(err: unknown): boolean {
  return (
    err instanceof OpenAI.BadRequestError &&
    /response_format|json_schema|structured output/i.test(`${err.message} ${String(err.param ?? '')}`)
  );
}

/** Milliseconds a server asked to wait (`retry-after-ms`, `retry-after` in seconds or as an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The SDK's errors as the loop understands them: status, timeout, and the server's wish on when to retry. */
function toCallError(err: unknown): unknown {
  if (err instanceof OpenAI.APIConnectionTimeoutError)
    return new ModelCallError(err.message, { timedOut: true });
  if (err instanceof OpenAI.APIError) {
    const wait = err.status === 429 || err.status === 503 ? retryAfterMs(err.headers) : undefined;
    return new ModelCallError(err.message, { status: err.status, retryAfterMs: wait });
  }
  return err;
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const make = (apiKey: string | undefined) =>
    new OpenAI({
      baseURL: options.baseURL,
      // Local servers (Ollama, vLLM) take any key; the SDK insists on one.
      apiKey: apiKey ?? 'none',
      timeout: options.timeoutMs,
      // The loop retries a failed critic call itself, with a fresh nonce.
      maxRetries: 0,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  const shared = make(options.apiKey);
  let jsonSchemaSupported = true;

  return {
    async chat(messages, chat) {
      const client = chat.apiKey ? make(chat.apiKey) : shared;
      const wire = chat.contract?.wire ?? {};
      const maxTokens = chat.maxTokens ?? chat.contract?.maxTokens;
      const send = (format: ChatOptions['responseFormat'] | { type: 'json_object' } | undefined) =>
        client.chat.completions.create(
          {
            ...(wire as Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming>),
            model: chat.model,
            messages: messages as OpenAI.Chat.ChatCompletionMessageParam[],
            ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
            // The client's own spelling of its limit wins (newer models refuse max_tokens).
            ...(maxTokens !== undefined && wire['max_completion_tokens'] === undefined
              ? { max_tokens: maxTokens }
              : {}),
            ...(format ? { response_format: format } : {}),
          },
          chat.signal ? { signal: chat.signal } : {},
        );
      let completion: OpenAI.Chat.ChatCompletion;
      try {
        if (chat.responseFormat && jsonSchemaSupported) {
          try {
            completion = await send(chat.responseFormat);
          } catch (err) {
            if (!rejectsJsonSchema(err)) throw err;
            jsonSchemaSupported = false;
            completion = await send({ type: 'json_object' });
          }
        } else {
          completion = await send(chat.responseFormat ? { type: 'json_object' } : undefined);
        }
      } catch (err) {
        throw toCallError(err);
      }
      const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      const cached = usage.prompt_tokens_details?.cached_tokens;
      const message = completion.choices[0]?.message;
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
