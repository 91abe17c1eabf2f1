// The Messages API answer (a `message`): reading it, its judged parts, and putting revisions and refusals back.
import { z } from 'zod';
import { TenetError } from '../../core/errors.ts';
import type { Draft, FinalChoice, ToolCallPart, Usage } from '../../core/exchange/conversation.ts';
import { type Block, blockSchema, isTextBlock, isToolUseBlock, sharedBlockChecks, textOf } from './blocks.ts';

const count = z.number().nonnegative();

export const messageAnswerSchema = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(blockSchema(sharedBlockChecks)),
  stop_reason: z.string().nullish(),
  stop_sequence: z.string().nullish(),
  usage: z
    .looseObject({
      input_tokens: count,
      output_tokens: count,
      cache_creation_input_tokens: count.nullish(),
      cache_read_input_tokens: count.nullish(),
    })
    .optional(),
});

/** A `message` object (every field an upstream sends is kept). */
export type MessageAnswer = z.infer<typeof messageAnswerSchema>;
type AnswerUsage = NonNullable<MessageAnswer['usage']>;

/** The stop reason of an answer Tenet refuses: the one Claude's own refusals carry. */
export const refusalStopReason = 'refusal';

const notAMessage = () =>
  new TenetError('upstream_invalid_response', 'The upstream model sent an answer that is not a message.');

/** Checks that a parsed JSON value is a `message` (an answer with content blocks), or throws. */
export function messageAnswerOf(json: unknown): MessageAnswer {
  const result = messageAnswerSchema.safeParse(json);
  if (!result.success) throw notAMessage();
  return result.data;
}

/** Reads a JSON answer of the Messages API; throws `upstream_invalid_response` when it is not one. */
export function readMessageAnswer(text: string): MessageAnswer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw notAMessage();
  }
  return messageAnswerOf(json);
}

/**
 * The tokens in OpenAI's names. Cached input is input too: the prompt is input_tokens plus the tokens written to
 * and read from the cache (the API counts them apart).
 */
function neutralUsage(usage: AnswerUsage): Usage {
  const prompt =
    usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
  };
}

/** The one choice of a message: its text blocks joined, its tool_use blocks as tool calls. */
export function draftOfMessage(answer: MessageAnswer): Draft {
  return {
    choices: [
      {
        index: 0,
        text: textOf(answer.content, ''),
        toolCalls: answer.content
          .filter(isToolUseBlock)
          .map((b) => ({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) })),
        finishReason: answer.stop_reason ?? null,
      },
    ],
    usage: answer.usage ? neutralUsage(answer.usage) : null,
  };
}

/**
 * A text block as the API writes one: without `citations` when it cites nothing (the SDK's types say null, but
 * the API leaves it out, and the Vercel AI SDK rejects a null).
 */
export const textBlock = (text: string): Block => ({ type: 'text', text });

/**
 * The content with `text` as its only text: in the first text block's place (its citations dropped: they
 * vouched for the text that was replaced), or before the first tool_use block when there was none.
 */
function revisedContent(content: readonly Block[], text: string): Block[] {
  const first = content.findIndex(isTextBlock);
  if (first === -1) {
    const at = content.findIndex(isToolUseBlock);
    const out = [...content];
    out.splice(at === -1 ? out.length : at, 0, textBlock(text));
    return out;
  }
  const out: Block[] = [];
  content.forEach((block, i) => {
    if (i === first) {
      const { citations: _, ...kept } = block;
      out.push({ ...kept, text });
    } else if (!isTextBlock(block)) out.push(block);
  });
  return out;
}

/** A tool call's arguments as the `input` object of a tool_use block ({} when they are not a JSON object). */
function parsedInput(call: ToolCallPart): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(call.arguments);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** `refused` and `revised` put back into a message; `revisionUsage` added to its usage in the API's names. */
export function applyFinalToMessage(
  answer: MessageAnswer,
  finals: readonly FinalChoice[],
  revisionUsage: Usage,
): MessageAnswer {
  const final = finals.find((f) => f.index === 0);
  if (!final || final.kind === 'unchanged') return answer;
  let out: MessageAnswer;
  if (final.kind === 'refused') {
    out = {
      ...answer,
      content: [textBlock(final.message)],
      stop_reason: refusalStopReason,
      stop_sequence: null,
      // Newer API versions explain a refusal here; Tenet's has no category, and its text is the content.
      ...('stop_details' in answer
        ? { stop_details: { type: 'refusal', category: null, explanation: null } }
        : {}),
    };
  } else if (final.toolCalls) {
    // Re-made tool calls replace the draft's tool_use blocks, after the text, as the API orders them.
    const rest = answer.content.filter((b) => !isToolUseBlock(b));
    const uses = final.toolCalls.map(
      (t): Block => ({ type: 'tool_use', id: t.id, name: t.name, input: parsedInput(t) }),
    );
    const text = final.text === '' ? rest.filter((b) => !isTextBlock(b)) : revisedContent(rest, final.text);
    out = {
      ...answer,
      content: [...text, ...uses],
      stop_reason: uses.length > 0 ? 'tool_use' : 'end_turn',
    };
  } else {
    out = {
      ...answer,
      content: revisedContent(answer.content, final.text),
      stop_reason: answer.stop_reason ?? 'end_turn',
    };
  }
  // `usage` reports the client's model: the draft plus the revisions (critic tokens are reported apart).
  if (answer.usage && revisionUsage.total_tokens > 0) {
    out.usage = {
      ...answer.usage,
      input_tokens: answer.usage.input_tokens + revisionUsage.prompt_tokens,
      output_tokens: answer.usage.output_tokens + revisionUsage.completion_tokens,
    };
  }
  return out;
}

/** A whole message that refuses, for a request refused before any model was asked. */
export function refusalMessage(model: string, message: string): MessageAnswer {
  return {
    id: `msg_tenet_${crypto.randomUUID().replaceAll('-', '')}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [textBlock(message)],
    stop_reason: refusalStopReason,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  };
}
