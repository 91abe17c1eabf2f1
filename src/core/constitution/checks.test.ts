// Deterministic checks on huge and adversarial texts: every part stays linear and a pattern reads up to the cap.
import { describe, expect, it } from 'vitest';
import { maxCheckedChars, runCheck } from './checks.ts';

const megabyte = 1_000_000;
// Long runs of what each detector's pieces match, with nothing that completes a finding.
const adversarial = [
  'a'.repeat(megabyte),
  '1'.repeat(megabyte),
  '1 '.repeat(megabyte / 2),
  '1-'.repeat(megabyte / 2),
  '+1 (12) '.repeat(megabyte / 8),
  'a.'.repeat(megabyte / 2),
  'a@'.repeat(megabyte / 2),
  'sk-'.repeat(megabyte / 3),
  '-----BEGIN '.repeat(megabyte / 11),
];

describe('checks on a megabyte of adversarial text', () => {
  it.each(adversarial.map((t) => [JSON.stringify(t.slice(0, 12)), t]))(
    'detectors and keywords finish quickly on %s…',
    (_, text) => {
      const started = performance.now();
      runCheck({ detect: ['email', 'phone', 'credit_card', 'api_key'] }, text);
      runCheck({ keywords: ['guarantee', 'promise to', 'refund'] }, text);
      runCheck({ pattern: '(?<![a-z])[a-z]+@', flags: 'i' }, text);
      // Linear work is tens of ms per MB; the quadratic bug this guards against took minutes.
      expect(performance.now() - started).toBeLessThan(10_000);
    },
    30_000,
  );

  it('a pattern sees the text up to the cap, lengths count all of it', () => {
    const filler = 'x'.repeat(maxCheckedChars - 10);
    expect(runCheck({ pattern: 'sk-[a-z]{5}' }, `${filler}sk-abcde`)?.evidence).toBe('sk-abcde');
    expect(runCheck({ pattern: 'sk-[a-z]{5}' }, `${filler}..........sk-abcde`)).toBeNull();
    expect(runCheck({ max_length: maxCheckedChars }, `${filler}${'y'.repeat(20)}`)?.reason).toMatch(
      /is 1000010 characters long/,
    );
  });
});
