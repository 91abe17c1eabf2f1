// A request body as every protocol reads it: JSON, an object, then its zod schema, with a 400 naming the bad param.
import type { z } from 'zod';
import { TenetError } from '../errors.ts';
import { formatPath } from '../json-path.ts';

/**
 * The issue worth naming. A union (a string or an array of parts) reports only "must be a string or …" even when
 * the client sent parts and one field of one part is wrong: when exactly one branch got past its type check, its
 * own first issue is the one the client needs, at its full path.
 */
export function firstIssue(
  issues: readonly z.core.$ZodIssue[],
  base: PropertyKey[] = [],
): { path: PropertyKey[]; message: string } {
  const issue = issues[0];
  if (!issue) return { path: base, message: 'is invalid' };
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union') {
    const typed = issue.errors.filter(
      (e) => !(e.length === 1 && e[0]?.code === 'invalid_type' && e[0].path.length === 0),
    );
    if (typed.length === 1 && typed[0]) return firstIssue(typed[0], path);
  }
  return { path, message: issue.message };
}

/** Parses a raw request body against `schema`; throws a 400 TenetError naming the bad param. */
export function parseRequestBody<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TenetError(
      'invalid_json',
      'We could not parse the JSON body of your request. The body must be a JSON object.',
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TenetError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const { path, message } = firstIssue(result.error.issues);
  const param = path.length > 0 ? formatPath(path) : null;
  throw new TenetError('invalid_request', `Invalid request: ${param ?? 'body'} ${message}.`, { param });
}
