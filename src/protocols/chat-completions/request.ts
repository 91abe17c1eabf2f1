// The chat completion request: validated with zod, yet loose, so every field a client sends is kept.
import { z } from 'zod';
import { parseRequestBody } from '../../core/exchange/request-body.ts';

const nullish = <T extends z.ZodType>(t: T) => t.nullish();

/** A content part (`text`, `image_url`, `input_audio`, `file`, …): only its `type` is required here. */
const contentPart = z.looseObject({ type: z.string({ error: 'must be a string naming the part type' }) });
const content = z.union([z.string(), z.array(contentPart)], {
  error: 'must be a string or an array of content parts',
});

const toolCall = z.looseObject({
  id: z.string(),
  type: z.string(),
});

const message = z.discriminatedUnion(
  'role',
  [
    z.looseObject({ role: z.literal('system'), content }),
    z.looseObject({ role: z.literal('developer'), content }),
    z.looseObject({ role: z.literal('user'), content }),
    z.looseObject({
      role: z.literal('assistant'),
      content: nullish(content),
      tool_calls: nullish(z.array(toolCall)),
    }),
    z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string() }),
    z.looseObject({ role: z.literal('function'), content: nullish(z.string()), name: z.string() }),
  ],
  { error: 'must have a role of system, developer, user, assistant, tool or function' },
);

// Not z.int(): it rejects integers beyond 2^53, and a client may send an int64 seed.
const integer = () => z.number().refine(Number.isInteger, 'must be an integer');
const intMin = (min: number) => integer().refine((n) => n >= min, `must be at least ${min}`);

export const chatRequestSchema = z.looseObject({
  model: z.string({ error: 'is required and must be a string' }).min(1, 'must not be empty'),
  messages: z
    .array(message, { error: 'is required and must be an array of messages' })
    .min(1, 'must not be empty'),
  stream: nullish(z.boolean({ error: 'must be a boolean' })),
  stream_options: nullish(z.looseObject({ include_usage: z.boolean().optional() })),
  n: nullish(intMin(1).refine((n) => n <= 128, 'must be at most 128')),
  temperature: nullish(z.number().min(0, 'must be at least 0').max(2, 'must be at most 2')),
  top_p: nullish(z.number().min(0, 'must be at least 0').max(1, 'must be at most 1')),
  max_tokens: nullish(intMin(1)),
  max_completion_tokens: nullish(intMin(1)),
  seed: nullish(integer()),
  tools: nullish(z.array(z.looseObject({ type: z.string() }))),
  response_format: nullish(z.looseObject({ type: z.string() })),
  user: nullish(z.string()),
  metadata: nullish(z.record(z.string(), z.string())),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Parses the raw body of a chat completion request; throws a 400 TenetError naming the bad param. */
export function parseChatRequest(text: string): ChatRequest {
  return parseRequestBody(text, chatRequestSchema);
}
