import { describe, expect, it } from 'vitest';
import { detect, maskDetected } from './detectors.ts';

describe('detectors', () => {
  // Each alternative of each pattern: the cheap check before a pattern must never skip a text it would match.
  const keys = [
    'sk-proj-abcdefghijklmnop1234',
    'pk-live_abcdefghijklmnopqr',
    'rk-test-0123456789abcdefgh',
    'AKIAABCDEFGHIJKLMNOP',
    `ghp_${'a'.repeat(36)}`,
    `gho_${'B'.repeat(30)}`,
    'xoxb-1234567890-abcdef',
    `AIza${'x'.repeat(35)}`,
    '-----BEGIN RSA PRIVATE KEY-----',
    '-----BEGIN PRIVATE KEY-----',
  ];

  it.each(keys)('masks the key %s', (key) => {
    expect(maskDetected(`my key is ${key} ok`, ['api_key'])).toBe('my key is [api_key] ok');
  });

  it('masks email addresses, phone and card numbers, and leaves text without them as it is', () => {
    const text = 'Mail ana.sousa+trip@example.co.uk or call +351 912 345 678; card 4111 1111 1111 1111.';
    expect(maskDetected(text, ['email', 'phone', 'credit_card', 'api_key'])).toBe(
      'Mail [email] or call [phone]; card [credit_card].',
    );
    const plain = 'Suggest a rough plan per day, sk- alone, an @ alone, AKIA short, 12345678.';
    expect(maskDetected(plain, ['email', 'phone', 'credit_card', 'api_key'])).toBe(plain);
  });

  it('masks the shortest numbers its patterns accept: the digit count checked first is not above them', () => {
    // 9 digits: the fewest a phone number has; 13: the fewest a card number has (a Luhn-valid test Visa).
    expect(maskDetected('call 912 345 678 now', ['phone'])).toBe('call [phone] now');
    expect(maskDetected('card 4222222222222 ok', ['credit_card'])).toBe('card [credit_card] ok');
    expect(maskDetected('call 912 345 67 now', ['phone'])).toBe('call 912 345 67 now');
  });

  it('finds every detection in order of position', () => {
    const found = detect('sk-abcdefghijklmnopq then a@b.io', ['email', 'api_key']);
    expect(found.map((d) => [d.detector, d.match])).toEqual([
      ['api_key', 'sk-abcdefghijklmnopq'],
      ['email', 'a@b.io'],
    ]);
  });
});
