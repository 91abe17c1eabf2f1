// The log filter, one zod schema: the admin API applies it strictly (a 400 naming the parameter), the dashboard
// leniently (a malformed value is ignored), and the CLI's filter flags are its parameters.
import { z } from 'zod';
import { severities } from './constitution/schema.ts';
import { protocolIds } from './exchange/protocol.ts';
import { verdicts } from './log-record.ts';

/** The longest text a filter parameter may hold (a name, a version, a search). */
export const maxFilterTextChars = 500;

/** A date-time as a `datetime-local` input writes it (no zone): read as UTC, as the dashboard shows times. */
const zoneless = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/;

/** A time as ms since the epoch or an ISO 8601 date (`2025-01-31`, `2025-01-31T12:00`, `2025-01-31T12:00:00Z`). */
const time = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const ms = /^\d+$/.test(v)
      ? Number(v)
      : zoneless.test(v)
        ? Date.parse(v.length === 10 ? `${v}T00:00Z` : `${v}Z`)
        : /^\d{4}-\d{2}-\d{2}/.test(v)
          ? Date.parse(v)
          : Number.NaN;
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date or milliseconds since the epoch' });
      return z.NEVER;
    }
    return ms;
  });

const text = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(maxFilterTextChars, `must be at most ${maxFilterTextChars} characters`);

export const reviewStates = ['confirmed', 'false_positive', 'unreviewed'] as const;
export const shadowStates = ['judged', 'agree', 'disagree'] as const;

/** The filter's query parameters (snake_case), shared by every listing, the stats and the export. */
export const logFilterShape = {
  principle: text.optional(),
  severity: z.enum(severities).optional(),
  constitution: text.optional(),
  version: text.optional(),
  verdict: z.enum(verdicts).optional(),
  protocol: z.enum(protocolIds).optional(),
  model: text.optional(),
  /** The client's own request id (`x-client-request-id`). */
  client_request_id: text.optional(),
  from: time.optional(),
  to: time.optional(),
  q: text.optional(),
  shadow: z.enum(shadowStates).optional(),
};

/** Violations only: their review state. */
export const reviewShape = { review: z.enum(reviewStates).optional() };

/** A page size from 1 to `max`, as a query parameter. */
export const limitParam = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`))
    .optional();

export const pageShape = { cursor: z.string().max(1000).optional(), limit: limitParam(500) };

export const requestsQuery = z.strictObject({ ...logFilterShape, ...pageShape });
export const violationsQuery = z.strictObject({ ...logFilterShape, ...reviewShape, ...pageShape });

/** Every filter parameter, as the admin API names them (the CLI's flags are these, kebab-case). */
export const logFilterParams = Object.keys({ ...logFilterShape, ...reviewShape }) as Array<
  keyof typeof logFilterShape | 'review'
>;

/** Drops the keys whose value is undefined (exactOptionalPropertyTypes: the store's filters have none). */
export function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

/** The query's snake_case filter names as the store's. */
export function filterOf<T extends { client_request_id?: string | undefined }>({
  client_request_id,
  ...rest
}: T) {
  return defined({ ...rest, clientRequestId: client_request_id });
}

/**
 * The violation listing's schema for a page people type into (the dashboard): each malformed parameter is ignored
 * instead of an error, unknown ones too.
 */
export const lenientViolationsQuery = z.object(
  Object.fromEntries(
    Object.entries(violationsQuery.shape).map(([k, s]) => [k, (s as z.ZodType).catch(undefined)]),
  ) as never as typeof violationsQuery.shape,
);

/** One filter parameter read leniently: its value, or undefined when absent or malformed. */
export function lenientFilterParam<K extends keyof typeof logFilterShape>(
  name: K,
  value: string | undefined,
): z.infer<(typeof logFilterShape)[K]> | undefined {
  const parsed = (logFilterShape[name] as z.ZodType).safeParse(value);
  return parsed.success ? (parsed.data as z.infer<(typeof logFilterShape)[K]>) : undefined;
}
