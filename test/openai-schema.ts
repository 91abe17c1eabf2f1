// OpenAI's own JSON Schemas (copied from shared/openai-schemas), compiled once: proof the SDKs accept what we send.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });

function compile(file: string) {
  const schema = JSON.parse(
    readFileSync(new URL(`./openai-schemas/${file}`, import.meta.url), 'utf8'),
  ) as object;
  const validate = ajv.compile(schema);
  return (value: unknown): string[] =>
    validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

const textCompletion = compile('completion-response.schema.json');
const responseEvent = compile('response-stream-event.schema.json');

/** ajv reports every branch of the event union; only errors inside the event (not "wrong type here") say what is wrong. */
const relevant = (error: string) =>
  !/^\/ must have required|^\/type must be equal|^\/ must match/.test(error);

/** Each returns the schema violations of `value` ([] when valid). */
export const schemaErrors = {
  completion: compile('chat-completion-response.schema.json'),
  chunk: compile('chat-completion-chunk.schema.json'),
  error: compile('error-response.schema.json'),
  /** Legacy `/v1/completions` answers (a `text_completion`, also each streamed chunk). */
  textCompletion,
  /** One streamed legacy completion chunk (the schema's finish_reason has no null: a chunk before the last has none yet). */
  textCompletionChunk: (value: unknown): string[] => {
    const chunk = value as { choices?: Array<{ finish_reason?: string | null }> };
    const choices = (chunk.choices ?? []).map((c) => ({ ...c, finish_reason: c.finish_reason ?? 'stop' }));
    return textCompletion({ ...chunk, choices });
  },
  /** A Responses API `response` object. */
  response: compile('response.schema.json'),
  /** One Responses API stream event (`response.created`, `response.output_text.delta`, …). */
  responseEvent: (value: unknown): string[] => responseEvent(value).filter(relevant),
};
