// createRedactor: known secrets and key-like strings never survive.
import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.ts';

describe('createRedactor', () => {
  it('masks every occurrence of a known secret, longest first', () => {
    const redact = createRedactor(['abcd1234', 'abcd1234-longer']);
    expect(redact('x abcd1234-longer y abcd1234 z')).toBe('x [redacted] y [redacted] z');
  });

  it('masks key-like strings it was not told about', () => {
    const redact = createRedactor([]);
    expect(redact('Incorrect API key provided: sk-proj-****************abcd.')).toBe(
      'Incorrect API key provided: [redacted].',
    );
    expect(redact('header was Bearer abc.def-123456')).toBe('header was [redacted]');
    expect(redact('a skeleton key')).toBe('a skeleton key');
  });
});
