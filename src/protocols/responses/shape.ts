// The Responses API answer as data: the `response` object and the output items Tenet judges, as zod schemas.
import { z } from 'zod';

/** A `response` object: only what Tenet reads is checked, every other field the upstream sends is kept. */
export const responseSchema = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  model: z.string(),
  status: z.string().optional(),
  output: z.array(z.looseObject({ type: z.string() })),
  usage: z
    .looseObject({ input_tokens: z.number(), output_tokens: z.number(), total_tokens: z.number() })
    .nullish(),
  incomplete_details: z.looseObject({ reason: z.string().optional() }).nullish(),
});

export type ResponseObject = z.infer<typeof responseSchema>;
export type OutputItem = ResponseObject['output'][number];

export const outputTextPart = z.looseObject({ type: z.literal('output_text'), text: z.string() });
export type OutputTextPart = z.infer<typeof outputTextPart>;

export const messageItem = z.looseObject({
  type: z.literal('message'),
  content: z.array(z.looseObject({ type: z.string() })),
});
export type MessageItem = z.infer<typeof messageItem>;

export const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
});
export type FunctionCallItem = z.infer<typeof functionCallItem>;

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An id Tenet made, marked so a log reader can tell it from the upstream's (`resp_tenet_…`, `msg_tenet_…`). */
export const tenetId = (prefix: string): string =>
  `${prefix}_tenet_${crypto.randomUUID().replaceAll('-', '')}`;
