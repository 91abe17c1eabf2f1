// OpenAI Chat Completions (`POST /v1/chat/completions`) as a protocol of the exchange.

import { TenetError } from '../../core/errors.ts';
import { addUsage, type Conversation, type Draft, type Turn } from '../../core/exchange/conversation.ts';
import type { DeltaCodec, ParsedRequest, Protocol, TextSlot } from '../../core/exchange/protocol.ts';
import type { OutputContract } from '../../core/output-contract.ts';
import { containsDone, sseError } from '../../core/sse.ts';
import { contentText } from '../../core/verdict.ts';
import { chunkEnding } from '../chunk-ending.ts';
import {
  ChunkAssembler,
  type Completion,
  type CompletionChoice,
  completionToSse,
  refusalChoice,
  refusalCompletion,
} from './completion.ts';
import { type ChatRequest, parseChatRequest } from './request.ts';

/** The request's messages as neutral turns (developer messages are system turns; tool results tool turns). */
function conversationOf(request: ChatRequest): Conversation {
  const turns: Turn[] = request.messages.map((m): Turn => {
    const text = contentText(m.content);
    if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []) as Array<{
        id: string;
        function?: { name?: string; arguments?: string };
      }>;
      return {
        role: 'assistant',
        text,
        ...(calls.length > 0
          ? {
              toolCalls: calls.map((t) => ({
                id: t.id,
                name: t.function?.name ?? '',
                arguments: t.function?.arguments ?? '',
              })),
            }
          : {}),
      };
    }
    if (m.role === 'tool') return { role: 'tool', text, toolCallId: String(m.tool_call_id) };
    if (m.role === 'function') return { role: 'tool', text };
    return { role: m.role === 'developer' ? 'system' : m.role, text };
  });
  return { turns };
}

/**
 * The output contract a revision keeps: `response_format`, `tools`, `tool_choice`, `parallel_tool_calls` and the
 * client's own spelling of its token limit, sent to the reviser (itself a chat completion) as they are.
 */
export function chatContractOf(body: ChatRequest): OutputContract {
  const raw = body as Record<string, unknown>;
  const wire: Record<string, unknown> = {};
  for (const key of [
    'response_format',
    'tools',
    'tool_choice',
    'parallel_tool_calls',
    'max_completion_tokens',
  ])
    if (raw[key] !== undefined && raw[key] !== null) wire[key] = raw[key];
  const format = body.response_format as
    | { type: string; json_schema?: { schema?: unknown } }
    | null
    | undefined;
  const schema = format?.json_schema?.schema;
  const json =
    format?.type === 'json_object'
      ? {}
      : format?.type === 'json_schema'
        ? {
            schema:
              typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>) : undefined,
          }
        : undefined;
  return {
    ...(json ? { json } : {}),
    wire,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
  };
}

function readCompletion(text: string): Completion {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && Array.isArray((json as { choices?: unknown }).choices)) {
      return json as Completion;
    }
  } catch {
    // fall through
  }
  throw new TenetError(
    'upstream_invalid_response',
    'The upstream model sent an answer that is not a chat completion.',
  );
}

/** Choice content and tool-call arguments, keyed `n` and `n:call`; a choice's finish_reason ends its texts. */
function chatDeltaCodec(): DeltaCodec {
  let last: Record<string, unknown> = {};
  return {
    texts(event) {
      last = event; // read only when a carrier is needed (rare): no copy per event
      const slots: TextSlot[] = [];
      const choices = Array.isArray(event['choices']) ? event['choices'] : [];
      for (const choice of choices as Array<{ index?: number; delta?: Record<string, unknown> }>) {
        const n = choice.index ?? 0;
        const delta = choice.delta;
        if (!delta) continue;
        if (typeof delta['content'] === 'string') {
          slots.push({ key: `${n}`, text: delta['content'], set: (t) => (delta['content'] = t) });
        }
        const calls = Array.isArray(delta['tool_calls']) ? delta['tool_calls'] : [];
        for (const call of calls as Array<{ index?: number; function?: { arguments?: unknown } }>) {
          const fn = call.function;
          if (!fn || typeof fn.arguments !== 'string') continue;
          slots.push({
            key: `${n}:${call.index ?? 0}`,
            text: fn.arguments,
            set: (t) => (fn.arguments = t),
            tool: true,
          });
        }
      }
      return slots;
    },
    closes(event) {
      if (event === '[DONE]') return 'all';
      const choices = Array.isArray(event['choices']) ? event['choices'] : [];
      const ended = (choices as Array<{ index?: number; finish_reason?: unknown }>)
        .filter((c) => c.finish_reason)
        .map((c) => c.index ?? 0);
      if (ended.length === 0) return [];
      return ended.flatMap((n) => [`${n}`, ...Array.from({ length: 128 }, (_, k) => `${n}:${k}`)]);
    },
    toolEvent(event) {
      const choices = Array.isArray(event['choices']) ? event['choices'] : [];
      return (choices as Array<{ delta?: Record<string, unknown> }>).some((c) => c.delta?.['tool_calls']);
    },
    carrier(key, text) {
      const [choice, call] = key.split(':');
      const delta =
        call === undefined
          ? { content: text }
          : { tool_calls: [{ index: Number(call), function: { arguments: text } }] };
      const { id, object, created, model } = last;
      const chunk = {
        id,
        object,
        created,
        model,
        choices: [{ index: Number(choice), delta, finish_reason: null }],
      };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    },
  };
}

export const chatProtocol: Protocol<ChatRequest, Completion> = {
  id: 'chat',
  path: '/v1/chat/completions',
  upstream: 'openai',
  upstreamPath: '/chat/completions',
  parse(text): ParsedRequest<ChatRequest> {
    const body = parseChatRequest(text);
    return {
      body,
      model: body.model,
      stream: body.stream === true,
      conversation: conversationOf(body),
      choices: body.n ?? 1,
      temperature: typeof body.temperature === 'number' ? body.temperature : undefined,
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      contract: chatContractOf(body),
    };
  },
  readAnswer: readCompletion,
  assembler() {
    const assembler = new ChunkAssembler();
    return {
      add(event) {
        if (event.data === '[DONE]') return;
        if (event.json !== undefined) return assembler.add(event.json);
        try {
          assembler.add(JSON.parse(event.data));
        } catch {
          throw new TenetError(
            'upstream_invalid_response',
            'The upstream model sent a stream chunk that is not JSON.',
          );
        }
      },
      appender: (event, key) => assembler.appender(event.json, key),
      result: () => assembler.result(),
    };
  },
  streamEnded: containsDone,
  draftOf(completion): Draft {
    return {
      choices: completion.choices.map((c) => ({
        index: c.index,
        text: c.message.content,
        toolCalls: (c.message.tool_calls ?? []).map((t) => ({
          id: t.id,
          name: t.function.name,
          arguments: t.function.arguments,
        })),
        finishReason: c.finish_reason,
      })),
      usage: completion.usage ?? null,
    };
  },
  applyFinal(completion, finals, revisionUsage) {
    if (finals.every((f) => f.kind === 'unchanged')) return completion;
    const choices = completion.choices.map((choice): CompletionChoice => {
      const final = finals.find((f) => f.index === choice.index);
      if (final?.kind === 'refused') return refusalChoice(choice.index, final.message);
      if (final?.kind === 'revised') {
        if (final.toolCalls) {
          // The tool calls were re-made by the revision: they replace the draft's, and say why the turn ended.
          const { tool_calls: _, ...message } = choice.message;
          const calls = final.toolCalls.map((t) => ({
            id: t.id,
            type: 'function' as const,
            function: { name: t.name, arguments: t.arguments },
          }));
          return {
            ...choice,
            message: {
              ...message,
              content: final.text === '' && calls.length > 0 ? null : final.text,
              ...(calls.length > 0 ? { tool_calls: calls } : {}),
            },
            finish_reason: calls.length > 0 ? 'tool_calls' : 'stop',
          };
        }
        return {
          ...choice,
          message: { ...choice.message, content: final.text },
          finish_reason: choice.finish_reason ?? 'stop',
        };
      }
      return choice;
    });
    // `usage` reports the client's model: the draft plus the revisions (critic tokens are reported apart).
    const usage =
      completion.usage && revisionUsage.total_tokens > 0
        ? addUsage(completion.usage, revisionUsage)
        : completion.usage;
    return { ...completion, choices, ...(usage ? { usage } : {}) };
  },
  refusal: (request, message) => refusalCompletion(request.model, message, request.choices),
  toSse: (completion, request) =>
    completionToSse(completion, { includeUsage: request.body.stream_options?.include_usage === true }),
  errorBody: (err) => err.toBody(),
  sseError: (err) => sseError(err.toBody()),
  deltaCodec: chatDeltaCodec,
  streamEnding: (request) =>
    chunkEnding({
      object: 'chat.completion.chunk',
      includeUsage: request.body.stream_options?.include_usage === true,
      choice: (index, text, finish) => ({
        index,
        delta: text === undefined ? {} : { content: text },
        logprobs: null,
        finish_reason: finish,
      }),
    }),
};
