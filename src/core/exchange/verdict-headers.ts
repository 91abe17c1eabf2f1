// The x-tenet-* response headers of an exchange's outcome (DESIGN.md's contract).
import type { Constitution } from '../constitution/schema.ts';
import type { Outcome } from './judge.ts';

export function verdictHeaders(constitution: Constitution, outcome: Outcome): Record<string, string> {
  return {
    'x-tenet-verdict': outcome.verdict,
    'x-tenet-violations': [...new Set(outcome.violations.map((v) => v.principle))].join(','),
    'x-tenet-revisions': String(outcome.revisions),
    'x-tenet-constitution': `${constitution.name}@${constitution.hash}`,
    'x-tenet-critic-tokens': String(outcome.criticTokens),
    ...(outcome.criticError ? { 'x-tenet-critic-error': outcome.criticError } : {}),
  };
}
