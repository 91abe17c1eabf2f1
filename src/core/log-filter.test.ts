import { describe, expect, it } from 'vitest';
import { lenientViolationsQuery, logFilterParams, violationsQuery } from './log-filter.ts';

describe('the log filter schema', () => {
  it('reads times as ms, dates and zone-less date-times as UTC, and dates with a zone as given', () => {
    const parse = (from: string) => violationsQuery.parse({ from }).from;
    expect(parse('1700000000000')).toBe(1_700_000_000_000);
    expect(parse('2025-01-31')).toBe(Date.UTC(2025, 0, 31));
    expect(parse('2025-01-31T12:30')).toBe(Date.UTC(2025, 0, 31, 12, 30));
    expect(parse('2025-01-31T12:30:00+02:00')).toBe(Date.UTC(2025, 0, 31, 10, 30));
  });

  it('is strict for the admin API: unknown, malformed and over-long parameters are errors', () => {
    expect(violationsQuery.safeParse({ severity: 'huge' }).success).toBe(false);
    expect(violationsQuery.safeParse({ principle: 'x'.repeat(501) }).success).toBe(false);
    expect(violationsQuery.safeParse({ colour: 'red' }).success).toBe(false);
    expect(violationsQuery.parse({ principle: ' no-pii ', limit: '20' })).toEqual({
      principle: 'no-pii',
      limit: 20,
    });
  });

  it('is lenient for the dashboard: the same rules, a malformed or unknown parameter ignored', () => {
    expect(
      lenientViolationsQuery.parse({
        severity: 'huge',
        principle: 'x'.repeat(501),
        verdict: 'blocked',
        from: 'yesterday',
        to: '2025-01-31T12:30',
        limit: '9999',
        range: '7d',
      }),
    ).toEqual({ verdict: 'blocked', to: Date.UTC(2025, 0, 31, 12, 30) });
  });

  it('names every filter parameter of a listing (the CLI turns each into a flag)', () => {
    const listing = Object.keys(violationsQuery.shape).filter((k) => k !== 'cursor' && k !== 'limit');
    expect(new Set(logFilterParams)).toEqual(new Set(listing));
  });
});
