// The critic's nonces: drawn from a pool of CSPRNG bytes, yet each one fresh and of the same shape.
import { describe, expect, it } from 'vitest';
import { nonce } from '../../src/http/loop-deps.ts';

describe('nonce', () => {
  it('gives 24 hex digits, never the same twice, across refills of its pool', () => {
    const seen = new Set<string>();
    // 256 nonces a pool: this crosses several refills.
    for (let i = 0; i < 1_000; i++) {
      const n = nonce();
      expect(n).toMatch(/^[0-9a-f]{24}$/);
      seen.add(n);
    }
    expect(seen.size).toBe(1_000);
  });

  it('uses every hex digit (the bytes are random, not a counter)', () => {
    const digits = new Set([...Array.from({ length: 50 }, nonce).join('')]);
    expect(digits.size).toBe(16);
  });
});
