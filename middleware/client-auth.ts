// Client authentication: bearer keys from TENET_API_KEYS, compared in constant time; optional bring-your-own-key.
import { createMiddleware } from 'hono/factory';
import type { ClientKey } from '../src/core/config.ts';
import { TenetError } from '../src/core/errors.ts';

export interface ClientAuthOptions {
  keys: readonly ClientKey[];
  /** Pass the client's bearer to the upstream; Tenet's own key then goes in `x-tenet-api-key`. */
  byok: boolean;
}

export interface ClientAuthVariables {
  /** The accepted key's name (never the key), or `anonymous` on an open proxy. */
  clientKeyId: string;
  /** The key to send upstream instead of Tenet's own (BYOK mode). */
  upstreamKey: string | undefined;
}

const encoder = new TextEncoder();

/**
 * Compares without an early exit: the time taken depends on the lengths only, never on where the
 * bytes differ, so it cannot be used to guess a key byte by byte. (No hashing: on the hot path.)
 */
function sameBytes(presented: Uint8Array, key: Uint8Array): boolean {
  let diff = presented.length ^ key.length;
  for (let i = 0; i < key.length; i++) diff |= (presented[i % (presented.length || 1)] ?? 0) ^ (key[i] ?? 0);
  return diff === 0;
}

/** The token of an `Authorization: Bearer …` header, if that is what it is. */
export function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1]?.trim() || undefined;
}

export function clientAuth(options: ClientAuthOptions) {
  const known = options.keys.map((k) => ({ id: k.id, bytes: encoder.encode(k.key) }));
  const where = options.byok ? 'the x-tenet-api-key header' : 'an Authorization header (Bearer)';

  return createMiddleware<{ Variables: ClientAuthVariables }>(async (c, next) => {
    // Anthropic's SDK sends its key as `x-api-key`; OpenAI's as a bearer. Either names the same client key.
    const bearer =
      bearerOf(c.req.header('authorization')) ?? (c.req.header('x-api-key')?.trim() || undefined);
    const presented = options.byok ? c.req.header('x-tenet-api-key')?.trim() : bearer;
    if (options.byok && !bearer) {
      throw new TenetError(
        'missing_api_key',
        'Bring-your-own-key mode: send your upstream API key as the Authorization bearer.',
      );
    }
    c.set('upstreamKey', options.byok ? bearer : undefined);

    if (known.length === 0) {
      c.set('clientKeyId', 'anonymous');
      return next();
    }
    if (!presented) {
      throw new TenetError(
        'missing_api_key',
        `You didn't provide an API key. Send your Tenet key in ${where}.`,
      );
    }
    const candidate = encoder.encode(presented);
    let matched: string | undefined;
    // Compare against every key, always, so the time taken does not depend on which one matched.
    for (const k of known) if (sameBytes(candidate, k.bytes) && matched === undefined) matched = k.id;
    if (matched === undefined) {
      throw new TenetError('invalid_api_key', 'Incorrect API key provided.');
    }
    c.set('clientKeyId', matched);
    return next();
  });
}
