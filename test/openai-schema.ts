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

/** Each returns the schema violations of `value` ([] when valid). */
export const schemaErrors = {
  completion: compile('chat-completion-response.schema.json'),
  chunk: compile('chat-completion-chunk.schema.json'),
  error: compile('error-response.schema.json'),
  /** Legacy `/v1/completions` answers (a `text_completion`, also each streamed chunk). */
  textCompletion: compile('completion-response.schema.json'),
  /** A Responses API `response` object. */
  response: compile('response.schema.json'),
  /** One Responses API stream event (`response.created`, `response.output_text.delta`, …). */
  responseEvent: compile('response-stream-event.schema.json'),
};
