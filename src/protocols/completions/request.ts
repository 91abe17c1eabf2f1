// The legacy completions request (`POST /v1/completions`): validated with zod yet loose, and read as a conversation.
import { z } from 'zod';
import type { Conversation, Turn } from '../../core/exchange/conversation.ts';
import type { ParsedRequest } from '../../core/exchange/protocol.ts';
import { parseRequestBody } from '../../core/exchange/request-body.ts';

// Not z.int(): it rejects integers beyond 2^53, and a client may send an int64 seed.
const integer = () => z.number().refine(Number.isInteger, 'must be an integer');
const intBetween = (min: number, max: number) =>
  integer()
    .refine((n) => n >= min, `must be at least ${min}`)
    .refine((n) => n <= max, `must be at most ${max}`);
const numberBetween = (min: number, max: number) =>
  z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const token = integer().refine((n) => n >= 0, 'must not be negative');

/** The four spellings OpenAI accepts; null means "from the start of a new document". */
const prompt = z
  .union(
    [
      z.string(),
      z.array(z.string()).min(1),
      z.array(token).min(1),
      z.array(z.array(token).min(1, 'must not be empty')).min(1),
    ],
    {
      error:
        'is required and must be a string, an array of strings, an array of tokens or an array of token arrays',
    },
  )
  .nullable();

export const completionsRequestSchema = z
  .looseObject({
    model: z.string({ error: 'is required and must be a string' }).min(1, 'must not be empty'),
    prompt,
    suffix: z.string({ error: 'must be a string' }).nullish(),
    n: intBetween(1, 128).nullish(),
    best_of: intBetween(0, 20).nullish(),
    echo: z.boolean({ error: 'must be a boolean' }).nullish(),
    stream: z.boolean({ error: 'must be a boolean' }).nullish(),
    stream_options: z
      .looseObject({ include_usage: z.boolean({ error: 'must be a boolean' }).optional() })
      .nullish(),
    temperature: numberBetween(0, 2).nullish(),
    top_p: numberBetween(0, 1).nullish(),
    frequency_penalty: numberBetween(-2, 2).nullish(),
    presence_penalty: numberBetween(-2, 2).nullish(),
    // 0 is allowed: with `echo` it asks for the prompt's logprobs only.
    max_tokens: integer()
      .refine((n) => n >= 0, 'must not be negative')
      .nullish(),
    logprobs: intBetween(0, 5).nullish(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4, 'must have at most 4 sequences')], {
        error: 'must be a string or an array of at most 4 strings',
      })
      .nullish(),
    seed: integer().nullish(),
    logit_bias: z
      .record(z.string(), z.number({ error: 'must be a number (a bias from -100 to 100)' }))
      .nullish(),
    user: z.string({ error: 'must be a string' }).nullish(),
  })
  .refine((b) => b.best_of == null || b.best_of >= (b.n ?? 1), {
    path: ['best_of'],
    message: 'must be at least n',
  })
  // The API generates best_of answers server-side and returns the best: there is nothing to stream.
  .refine((b) => !b.stream || b.best_of == null || b.best_of <= 1, {
    path: ['best_of'],
    message: 'must be 1 when stream is true (results cannot be streamed)',
  });

export type CompletionsRequest = z.infer<typeof completionsRequestSchema>;

function validate(text: string): CompletionsRequest {
  return parseRequestBody(text, completionsRequestSchema);
}

/**
 * The prompts as text, one per answer group. Token ids cannot be read without the model's tokenizer (Tenet
 * has none), so a token prompt is an empty text: output principles still judge its answers, input principles
 * see nothing. A null prompt is OpenAI's "new document": no text either.
 */
export function promptTexts(prompt: CompletionsRequest['prompt']): string[] {
  if (prompt === null) return [''];
  if (typeof prompt === 'string') return [prompt];
  if (typeof prompt[0] === 'number') return [''];
  return prompt.map((p) => (typeof p === 'string' ? p : ''));
}

function conversationOf(texts: readonly string[]): Conversation {
  // Every prompt is the client's input, and input principles judge the last user turn: a batch of prompts is one
  // turn (each labelled), so a prompt early in the batch is judged as surely as the last one.
  const text =
    texts.length === 1 ? (texts[0] ?? '') : texts.map((t, i) => `[prompt ${i + 1}]\n${t}`).join('\n\n');
  const turn: Turn = { role: 'user', text };
  return { turns: [turn] };
}

/** Each prompt's text, with the suffix (text the client wrote too: the model fills in between) after it. */
function promptsOf(body: CompletionsRequest): string[] {
  return promptTexts(body.prompt).map((p) => [p, body.suffix ?? ''].filter(Boolean).join('\n'));
}

/** Parses the raw body of a completions request; throws a 400 TenetError naming the bad param. */
export function parseCompletionsRequest(text: string): ParsedRequest<CompletionsRequest> {
  const body = validate(text);
  const prompts = promptsOf(body);
  const conversation = conversationOf(prompts);
  return {
    body,
    model: body.model,
    stream: body.stream === true,
    conversation,
    // n answers per prompt, indexed prompt by prompt (prompt p's k-th answer is choice p·n + k).
    choices: (body.n ?? 1) * prompts.length,
    temperature: body.temperature ?? undefined,
    // max_tokens 0 (echo only) is no budget for a revision: the reviser's own default applies then.
    maxTokens: body.max_tokens || undefined,
    // No JSON format or tools in the legacy API: the contract is the output limit.
    contract: { maxTokens: body.max_tokens || undefined },
  };
}
