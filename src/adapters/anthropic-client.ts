// Revision calls for Anthropic Messages requests: the client's Claude model over the Anthropic API.
import type { ChatMessage } from '../core/critique.ts';
import { ModelCallError, type ModelReply } from '../core/loop.ts';
import type { ChatOptions, ModelClient } from './model-client.ts';
import { retryAfterMs } from './model-client.ts';

export interface AnthropicClientOptions {
  /** The API's base URL, without `/v1` (https://api.anthropic.com). */
  baseURL: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** The test seam and the runtime's fetch. */
  fetch?: typeof fetch;
}

/** The API version Tenet speaks for its own calls (the client's header is forwarded on its own requests). */
export const anthropicVersion = '2023-06-01';

interface MessageReply {
  content?: Array<{ type?: string; text?: string; id?: string; name?: string; input?: unknown }>;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number };
  error?: { message?: string };
}

/**
 * One POST /v1/messages per call (a hand-written call rather than the Anthropic SDK: it is one request, and the
 * SDK would add its weight to the Workers bundle). The system turns become `system`; the rest alternate as the
 * API requires (consecutive turns of one role are joined).
 */
export function createAnthropicClient(options: AnthropicClientOptions): ModelClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    async chat(messages: ChatMessage[], chat: ChatOptions): Promise<ModelReply> {
      const system = messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n');
      const turns: Array<{ role: 'user' | 'assistant'; content: string }> = [];
      for (const m of messages) {
        if (m.role === 'system') continue;
        const role = m.role === 'assistant' ? 'assistant' : 'user';
        const last = turns[turns.length - 1];
        if (last?.role === role) last.content += `\n\n${m.content}`;
        else turns.push({ role, content: m.content });
      }
      const key = chat.apiKey ?? options.apiKey;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      const onAbort = () => controller.abort();
      chat.signal?.addEventListener('abort', onAbort, { once: true });
      let response: Response;
      let body: MessageReply;
      try {
        response = await fetchImpl(`${options.baseURL}/v1/messages`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'anthropic-version': anthropicVersion,
            ...(key ? { 'x-api-key': key } : {}),
          },
          body: JSON.stringify({
            // A revision keeps the client's tools and tool_choice.
            ...chat.contract?.wire,
            model: chat.model,
            max_tokens: chat.maxTokens ?? chat.contract?.maxTokens ?? 4096,
            ...(system ? { system } : {}),
            messages: turns,
            ...(chat.temperature !== undefined ? { temperature: Math.min(1, chat.temperature) } : {}),
          }),
          signal: controller.signal,
        });
        body = (await response.json().catch(() => ({}))) as MessageReply;
      } catch (err) {
        const timedOut = controller.signal.aborted && !chat.signal?.aborted;
        throw new ModelCallError(`the Anthropic API could not be reached: ${String(err)}`, { timedOut });
      } finally {
        clearTimeout(timer);
        chat.signal?.removeEventListener('abort', onAbort);
      }
      if (!response.ok) {
        const wait =
          response.status === 429 || response.status === 529 ? retryAfterMs(response.headers) : undefined;
        throw new ModelCallError(`${response.status} ${body.error?.message ?? 'the Anthropic API failed'}`, {
          status: response.status,
          retryAfterMs: wait,
        });
      }
      const text = (body.content ?? [])
        .filter((b) => b.type === 'text')
        .map((b) => b.text ?? '')
        .join('');
      const toolCalls = (body.content ?? [])
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({ id: b.id ?? '', name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) }));
      const prompt = body.usage?.input_tokens ?? 0;
      const completion = body.usage?.output_tokens ?? 0;
      const cached = body.usage?.cache_read_input_tokens;
      return {
        content: text,
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: prompt + completion,
          ...(typeof cached === 'number' ? { cached_tokens: cached } : {}),
        },
      };
    },
  };
}
