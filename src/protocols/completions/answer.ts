// The `text_completion` answer: reading it, the draft judged in it, and putting revisions and refusals back.
import { z } from 'zod';
import { TenetError } from '../../core/errors.ts';
import { addUsage, type Draft, type FinalChoice, type Usage } from '../../core/exchange/conversation.ts';
import type { ParsedRequest } from '../../core/exchange/protocol.ts';
import type { CompletionsRequest } from './request.ts';

const usageSchema = z.looseObject({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
});

const choiceSchema = z.looseObject({
  text: z.string(),
  index: z.number(),
  logprobs: z.unknown(),
  finish_reason: z.string().nullish(),
});

/** The minimal shape of a `text_completion` Tenet relies on; every other field an upstream sends is kept. */
export const textCompletionSchema = z.looseObject({
  id: z.string(),
  object: z.string(),
  created: z.number(),
  model: z.string(),
  choices: z.array(choiceSchema),
  usage: usageSchema.nullish(),
});

export type TextCompletion = z.infer<typeof textCompletionSchema>;
export type TextCompletionChoice = z.infer<typeof choiceSchema>;

/**
 * Parses an upstream's JSON answer. The parsed JSON itself is returned, not zod's copy, so an unchanged choice
 * keeps its fields in the upstream's order (the schema has no defaults or transforms: the types hold).
 */
export function readTextCompletion(text: string): TextCompletion {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!textCompletionSchema.safeParse(json).success) {
    throw new TenetError(
      'upstream_invalid_response',
      'The upstream model sent an answer that is not a text completion.',
    );
  }
  return json as TextCompletion;
}

export function draftOfTextCompletion(answer: TextCompletion): Draft {
  return {
    choices: answer.choices.map((c) => ({
      index: c.index,
      text: c.text,
      toolCalls: [],
      finishReason: c.finish_reason ?? null,
    })),
    usage: answer.usage ?? null,
  };
}

function applyChoice(choice: TextCompletionChoice, final: FinalChoice | undefined): TextCompletionChoice {
  if (!final || final.kind === 'unchanged') return choice;
  // Logprobs describe the tokens of the text they came with: a replaced text has none.
  if (final.kind === 'revised')
    return { ...choice, text: final.text, logprobs: null, finish_reason: choice.finish_reason ?? 'stop' };
  return { ...choice, text: final.message, logprobs: null, finish_reason: 'content_filter' };
}

/** The answer with revisions and refusals put back (a new object; the answer itself when nothing changes). */
export function applyFinalToTextCompletion(
  answer: TextCompletion,
  finals: readonly FinalChoice[],
  revisionUsage: Usage,
): TextCompletion {
  const byIndex = new Map(finals.map((f) => [f.index, f]));
  const choices = answer.choices.map((c) => applyChoice(c, byIndex.get(c.index)));
  const addsUsage = answer.usage != null && revisionUsage.total_tokens > 0;
  if (!addsUsage && choices.every((c, i) => c === answer.choices[i])) return answer;
  return {
    ...answer,
    choices,
    ...(addsUsage && answer.usage ? { usage: addUsage(answer.usage, revisionUsage) } : {}),
  };
}

/** A whole answer that refuses every choice the request asked for, for a request refused before any model. */
export function refusalTextCompletion(
  request: ParsedRequest<CompletionsRequest>,
  message: string,
): TextCompletion {
  return {
    id: `cmpl-tenet-${crypto.randomUUID().replaceAll('-', '')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: Array.from({ length: request.choices }, (_, index) => ({
      text: message,
      index,
      logprobs: null,
      finish_reason: 'content_filter',
    })),
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}
