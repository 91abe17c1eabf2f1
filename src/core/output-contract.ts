// The client's output contract (JSON format, tools, limits) that a revision must keep, and the check of a revision against it.
import { z } from 'zod';

/**
 * What the client asked the answer to be, as the protocol read it from the request. `json` is what the loop
 * checks; `wire` is the same contract in the reviser's own request fields (chat completions' `response_format`,
 * `tools`, `tool_choice`; the Anthropic API's `tools`, `tool_choice`), sent with every revision call.
 */
export interface OutputContract {
  /** The answer's text must be JSON: any JSON object, or one that matches `schema`. */
  json?: { schema?: Record<string, unknown> | undefined } | undefined;
  /** Fields added to each revision request as they are (tools, tool_choice, response_format). */
  wire?: Record<string, unknown> | undefined;
  /** The client's output limit, kept for revisions. */
  maxTokens?: number | undefined;
}

const compiled = new WeakMap<Record<string, unknown>, z.ZodType | null>();

/** The zod schema of a JSON Schema (no code generation: it runs on Workers too); null when zod cannot read it. */
function schemaOf(schema: Record<string, unknown>): z.ZodType | null {
  let out = compiled.get(schema);
  if (out === undefined) {
    try {
      out = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch {
      out = null;
    }
    compiled.set(schema, out);
  }
  return out;
}

/**
 * Why a revised answer breaks the contract (undefined when it keeps it). A text is checked only when the
 * contract asks for JSON and the revision answers in text: a revision that calls a tool instead answers in tools.
 */
export function contractBreach(
  contract: OutputContract | undefined,
  answer: { text: string; toolCalls: readonly unknown[] },
): string | undefined {
  const json = contract?.json;
  if (!json || (answer.text === '' && answer.toolCalls.length > 0)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch {
    return 'the revision is not the JSON the request asked for';
  }
  if (json.schema === undefined) {
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? undefined
      : 'the revision is not a JSON object, as the request asked';
  }
  const schema = schemaOf(json.schema);
  if (schema === null) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return `the revision does not match the request's JSON schema (${issue?.path.join('.') || 'root'}: ${issue?.message})`;
}
