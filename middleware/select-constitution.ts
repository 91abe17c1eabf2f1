// Picks the constitution of a request: the x-tenet-constitution header, else the client key's default, else the server's.
import { createMiddleware } from 'hono/factory';
import type { KeyConstitutions } from '../src/core/config.ts';
import type { Constitution } from '../src/core/constitution/schema.ts';
import type { ConstitutionSource } from '../src/core/constitution/set.ts';
import { TenetError } from '../src/core/errors.ts';

export interface SelectConstitutionOptions {
  source: ConstitutionSource;
  /** Client key name → its default constitution, and the only ones it may select when pinned (TENET_KEY_CONSTITUTIONS). */
  keyDefaults: Record<string, KeyConstitutions>;
  /** TENET_CONSTITUTION. */
  fallback: string;
}

export interface SelectConstitutionVariables {
  constitution: Constitution;
  /** Set by clientAuth, which must run first. */
  clientKeyId: string;
}

export const constitutionHeader = 'x-tenet-constitution';

export function selectConstitution(options: SelectConstitutionOptions) {
  return createMiddleware<{ Variables: SelectConstitutionVariables }>(async (c, next) => {
    const asked = c.req.header(constitutionHeader)?.trim();
    const ofKey = options.keyDefaults[c.var.clientKeyId];
    // A pinned key's header cannot reach past its list (not even `passthrough`): refused, never silently replaced.
    if (asked && ofKey?.allowed && !ofKey.allowed.includes(asked)) {
      throw new TenetError(
        'constitution_not_allowed',
        `This API key may not select the constitution "${asked}". Allowed: ${ofKey.allowed.join(', ')}.`,
        { param: constitutionHeader },
      );
    }
    const name = asked || ofKey?.default || options.fallback;
    const constitution = options.source.get(name);
    if (!constitution) {
      const available = options.source.names().join(', ') || 'none';
      if (asked) {
        throw new TenetError(
          'unknown_constitution',
          `Unknown constitution "${asked}". Available: ${available}.`,
          {
            param: constitutionHeader,
          },
        );
      }
      // A configured default that is missing is the server's fault, not the client's.
      throw new TenetError(
        'constitution_unavailable',
        `The constitution "${name}" is not loaded. Available: ${available}.`,
      );
    }
    c.set('constitution', constitution);
    await next();
  });
}
