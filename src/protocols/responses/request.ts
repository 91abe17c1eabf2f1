// The Responses API request: validated with zod (loose, so every field a client sends is kept), read as a conversation.
import { z } from 'zod';
import type { Conversation, ToolCallPart, Turn } from '../../core/exchange/conversation.ts';
import type { ParsedRequest } from '../../core/exchange/protocol.ts';
import { firstIssue, parseRequestBody } from '../../core/exchange/request-body.ts';
import type { OutputContract } from '../../core/output-contract.ts';

/** A content part (`input_text`, `output_text`, `input_image`, `input_file`, …): only its `type` is required here. */
const contentPart = z.looseObject({ type: z.string({ error: 'must be a string naming the part type' }) });
const content = z.union([z.string(), z.array(contentPart)], {
  error: 'must be a string or an array of content parts',
});

const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer'], {
    error: 'must be user, assistant, system or developer',
  }),
  content,
});
const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string({ error: 'is required and must be a string' }),
  name: z.string({ error: 'is required and must be a string' }),
  arguments: z.string({ error: 'is required and must be a string of JSON' }),
});
const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string({ error: 'is required and must be a string' }),
  output: z.union([z.string(), z.array(contentPart)], {
    error: 'is required and must be a string or an array of content parts',
  }),
});

type MessageItem = z.infer<typeof messageItem>;
type FunctionCallItem = z.infer<typeof functionCallItem>;
type FunctionCallOutputItem = z.infer<typeof functionCallOutputItem>;

/** The schema of the items Tenet judges; other item types (reasoning, web_search_call, …) are kept unjudged. */
function itemSchema(type: string | undefined) {
  if (type === undefined || type === 'message') return messageItem;
  if (type === 'function_call') return functionCallItem;
  if (type === 'function_call_output') return functionCallOutputItem;
  return undefined;
}

/**
 * An input item, checked by its `type`. A union of the item schemas would report a bad function_call as
 * "Invalid input" on the whole item (the catch-all branch accepts it); dispatching on `type` names the field.
 */
const inputItem = z
  .looseObject({ type: z.string({ error: 'must be a string naming the item type' }).optional() })
  .superRefine((item, ctx) => {
    const result = itemSchema(item.type)?.safeParse(item);
    if (result && !result.success) {
      const { path, message } = firstIssue(result.error.issues);
      ctx.addIssue({ code: 'custom', message, path });
    }
  });

const nullish = <T extends z.ZodType>(t: T) => t.nullish();
const intMin = (min: number) =>
  z
    .number({ error: 'must be an integer' })
    .refine(Number.isInteger, 'must be an integer')
    .refine((n) => n >= min, `must be at least ${min}`);

export const responsesRequestSchema = z.looseObject({
  model: z.string({ error: 'is required and must be a string' }).min(1, 'must not be empty'),
  input: nullish(
    z.union([z.string(), z.array(inputItem)], { error: 'must be a string or an array of input items' }),
  ),
  instructions: nullish(z.string({ error: 'must be a string' })),
  tools: nullish(
    z.array(z.looseObject({ type: z.string({ error: 'must be a string naming the tool type' }) })),
  ),
  stream: nullish(z.boolean({ error: 'must be a boolean' })),
  temperature: nullish(z.number().min(0, 'must be at least 0').max(2, 'must be at most 2')),
  top_p: nullish(z.number().min(0, 'must be at least 0').max(1, 'must be at most 1')),
  max_output_tokens: nullish(intMin(1)),
  previous_response_id: nullish(z.string({ error: 'must be a string' })),
  conversation: nullish(
    z.union([z.string(), z.looseObject({ id: z.string() })], {
      error: 'must be a string or an object with an id',
    }),
  ),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** The text of content parts, joined with a newline (images and files have none). */
function textOf(value: string | readonly Record<string, unknown>[]): string {
  if (typeof value === 'string') return value;
  const texts: string[] = [];
  for (const part of value) {
    if (typeof part['text'] === 'string') texts.push(part['text']);
    else if (typeof part['refusal'] === 'string') texts.push(part['refusal']);
  }
  return texts.join('\n');
}

/** The neutral conversation: instructions and system/developer messages as system turns, function calls merged into the assistant turn they follow. */
function conversationOf(body: ResponsesRequest): Conversation {
  const turns: Turn[] = [];
  if (body.instructions) turns.push({ role: 'system', text: body.instructions });
  const input = body.input;
  if (typeof input === 'string') turns.push({ role: 'user', text: input });
  else if (input) {
    for (const raw of input) {
      const type = raw.type;
      if (type === undefined || type === 'message') {
        const item = raw as MessageItem;
        const role = item.role === 'developer' || item.role === 'system' ? 'system' : item.role;
        turns.push({ role, text: textOf(item.content) });
      } else if (type === 'function_call') {
        const item = raw as FunctionCallItem;
        const call: ToolCallPart = { id: item.call_id, name: item.name, arguments: item.arguments };
        const last = turns[turns.length - 1];
        if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
        else turns.push({ role: 'assistant', text: '', toolCalls: [call] });
      } else if (type === 'function_call_output') {
        const item = raw as FunctionCallOutputItem;
        turns.push({ role: 'tool', text: textOf(item.output), toolCallId: item.call_id });
      }
    }
  }
  const conversation: Conversation = { turns };
  const history = serverSideHistory(body);
  if (history) conversation.serverSideHistory = history;
  return conversation;
}

/** Why some earlier turns are not in the request: the upstream keeps them (`previous_response_id`, `conversation`). */
function serverSideHistory(body: ResponsesRequest): string | undefined {
  const notes: string[] = [];
  if (body.previous_response_id) notes.push(`previous_response_id ${body.previous_response_id}`);
  const conv = body.conversation;
  if (conv) notes.push(`conversation ${typeof conv === 'string' ? conv : conv.id}`);
  return notes.length
    ? `${notes.join(', ')}: earlier turns are kept by the upstream and were not judged`
    : undefined;
}

/** Parses the raw body of a Responses API request; throws a 400 TenetError naming the bad param. */
export function parseResponsesRequest(text: string): ParsedRequest<ResponsesRequest> {
  const body = parseRequestBody(text, responsesRequestSchema);
  return {
    body,
    model: body.model,
    stream: body.stream ?? false,
    conversation: conversationOf(body),
    choices: 1,
    temperature: body.temperature ?? undefined,
    maxTokens: body.max_output_tokens ?? undefined,
    contract: responsesContractOf(body),
  };
}

type Loose = Record<string, unknown>;
const isLoose = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The output contract a revision keeps, in the reviser's chat completion fields: `text.format` as
 * `response_format`, function tools and `tool_choice` in their chat spelling (built-in tools such as web search
 * have no chat form and are not offered to a revision), the output limit as `max_tokens`.
 */
export function responsesContractOf(body: ResponsesRequest): OutputContract {
  const raw = body as Loose;
  const wire: Loose = {};
  const format = isLoose(raw['text']) ? raw['text']['format'] : undefined;
  let json: OutputContract['json'];
  if (isLoose(format) && format['type'] === 'json_object') {
    wire['response_format'] = { type: 'json_object' };
    json = {};
  } else if (isLoose(format) && format['type'] === 'json_schema') {
    const { type: _, ...schema } = format;
    wire['response_format'] = { type: 'json_schema', json_schema: schema };
    json = { schema: isLoose(format['schema']) ? format['schema'] : undefined };
  }
  const tools = (body.tools ?? [])
    .filter((t) => t.type === 'function')
    .map(({ type: _, ...fn }) => ({ type: 'function', function: fn }));
  if (tools.length > 0) wire['tools'] = tools;
  const choice = raw['tool_choice'];
  if (typeof choice === 'string') wire['tool_choice'] = choice;
  else if (isLoose(choice) && choice['type'] === 'function')
    wire['tool_choice'] = { type: 'function', function: { name: choice['name'] } };
  if (typeof raw['parallel_tool_calls'] === 'boolean')
    wire['parallel_tool_calls'] = raw['parallel_tool_calls'];
  return { ...(json ? { json } : {}), wire, maxTokens: body.max_output_tokens ?? undefined };
}
