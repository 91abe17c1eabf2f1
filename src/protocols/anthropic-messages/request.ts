// The Messages API request: validated with zod, yet loose, so every field a client sends is kept.
import { z } from 'zod';
import type { Conversation, ToolCallPart, Turn } from '../../core/exchange/conversation.ts';
import { parseRequestBody } from '../../core/exchange/request-body.ts';
import {
  type Block,
  blockSchema,
  isToolUseBlock,
  sharedBlockChecks,
  textBlockCheck,
  textBlocks,
  textOf,
} from './blocks.ts';

const nullish = <T extends z.ZodType>(t: T) => t.nullish();

/** What a tool result carries: text, or blocks (text, image, document, search_result …). */
const toolResultContent = z.union([z.string(), z.array(blockSchema({ text: textBlockCheck }))], {
  error: 'must be a string or an array of content blocks',
});

const requestBlock = blockSchema({
  ...sharedBlockChecks,
  tool_result: z.looseObject({
    tool_use_id: z.string({ error: 'must be a string' }),
    content: toolResultContent.optional(),
    is_error: nullish(z.boolean({ error: 'must be a boolean' })),
  }),
});

const content = z.union([z.string(), z.array(requestBlock)], {
  error: 'must be a string or an array of content blocks',
});

const message = z.looseObject({
  // `system` is in the SDK's MessageParam too; it becomes a system turn like the top-level `system`.
  role: z.enum(['user', 'assistant', 'system'], { error: "must be 'user' or 'assistant'" }),
  content,
});

// Not z.int(): it rejects integers beyond 2^53; the API's own limits are left to the API.
const integer = () => z.number().refine(Number.isInteger, 'must be an integer');
const intMin = (min: number) => integer().refine((n) => n >= min, `must be at least ${min}`);

export const messagesRequestSchema = z.looseObject({
  model: z.string({ error: 'is required and must be a string' }).min(1, 'must not be empty'),
  max_tokens: z
    .number({ error: 'is required and must be an integer' })
    .refine(Number.isInteger, 'must be an integer')
    .refine((n) => n >= 1, 'must be at least 1'),
  system: nullish(
    z.union([z.string(), textBlocks], { error: 'must be a string or an array of text blocks' }),
  ),
  messages: z
    .array(message, { error: 'is required and must be an array of messages' })
    .min(1, 'must not be empty'),
  stream: nullish(z.boolean({ error: 'must be a boolean' })),
  temperature: nullish(z.number().min(0, 'must be at least 0').max(1, 'must be at most 1')),
  top_p: nullish(z.number().min(0, 'must be at least 0').max(1, 'must be at most 1')),
  top_k: nullish(intMin(0)),
  stop_sequences: nullish(z.array(z.string(), { error: 'must be an array of strings' })),
  tools: nullish(z.array(z.looseObject({ name: z.string({ error: 'must be a string' }) }))),
  tool_choice: nullish(z.looseObject({ type: z.string({ error: 'must be a string' }) })),
  metadata: nullish(z.looseObject({ user_id: nullish(z.string({ error: 'must be a string' })) })),
  thinking: nullish(z.looseObject({ type: z.string({ error: 'must be a string' }) })),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** Parses the raw body of a Messages request; throws a 400 TenetError naming the bad param. */
export function parseMessagesRequest(text: string): MessagesRequest {
  return parseRequestBody(text, messagesRequestSchema);
}

const blocksOf = (content: string | readonly Block[]): readonly Block[] =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : content;

/** A tool result's text: its string, or its text blocks joined (images and documents are not judged). */
function toolResultText(block: Block): string {
  const inner = block['content'];
  if (typeof inner === 'string') return inner;
  return Array.isArray(inner) ? (textOf(inner as Block[], '\n') ?? '') : '';
}

/**
 * The request as neutral turns: `system` first, then each message. A user message's tool_result blocks become
 * tool turns (the API puts them first in the message) and its other blocks one user turn; an assistant message's
 * tool_use blocks are its tool calls. Thinking blocks are kept in the body but not judged.
 */
export function conversationOf(request: MessagesRequest): Conversation {
  const turns: Turn[] = [];
  if (request.system != null) {
    const text = typeof request.system === 'string' ? request.system : textOf(request.system, '\n');
    turns.push({ role: 'system', text: text ?? '' });
  }
  for (const m of request.messages) {
    const blocks = blocksOf(m.content);
    if (m.role === 'assistant') {
      const toolCalls: ToolCallPart[] = blocks
        .filter(isToolUseBlock)
        .map((b) => ({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) }));
      turns.push({
        role: 'assistant',
        text: textOf(blocks, '\n') ?? '',
        ...(toolCalls.length ? { toolCalls } : {}),
      });
      continue;
    }
    const others = blocks.filter((b) => b.type !== 'tool_result');
    for (const b of blocks) {
      if (b.type !== 'tool_result') continue;
      turns.push({ role: 'tool', text: toolResultText(b), toolCallId: String(b['tool_use_id']) });
    }
    if (others.length > 0 || blocks.length === 0)
      turns.push({ role: m.role, text: textOf(others, '\n') ?? '' });
  }
  return { turns };
}
