// Built-in detectors of personal data and secrets: used by deterministic checks and by log redaction.
import type { Detector } from './constitution/schema.ts';

/** Luhn checksum: tells a real card number from any 16 digits. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const digitCount = (s: string) => s.replace(/\D/g, '').length;

interface DetectorSpec {
  pattern: RegExp;
  accept?: (match: string) => boolean;
  /**
   * False when `pattern` cannot match `text` (a necessary condition, much cheaper than the pattern): the log masks
   * every prompt and answer, and most hold no email address and no key.
   */
  mayMatch?: (text: string) => boolean;
}

const keyStarts = /k-|AKIA|gh[pousr]_|xox[abprs]-|AIza|-----BEGIN /;

/** Whether `text` holds at least `n` digits (a number a pattern accepts has that many). */
function holdsDigits(text: string, n: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++count >= n) return true;
  }
  return false;
}

const specs: Record<Detector, DetectorSpec> = {
  // Starts only where a run of local-part characters starts: tried from inside a long run without an `@`,
  // each start rescans the run, quadratic time (1 MB of text: minutes), a denial of service by any message.
  email: {
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    mayMatch: (text) => text.includes('@'),
  },
  phone: {
    // International (+..) or grouped national numbers; 9-15 digits so years, prices and ids stay out.
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w-])/g,
    accept: (m) => {
      const n = digitCount(m);
      return n >= 9 && n <= 15 && !/^\d{4}-\d{2}-\d{2}$/.test(m);
    },
    mayMatch: (text) => holdsDigits(text, 9),
  },
  credit_card: {
    pattern: /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g,
    accept: (m) => {
      const digits = m.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhn(digits);
    },
    mayMatch: (text) => holdsDigits(text, 13),
  },
  api_key: {
    pattern:
      /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}|-----BEGIN [A-Z ]*PRIVATE KEY-----/g,
    // Each alternative's fixed start.
    mayMatch: (text) => keyStarts.test(text),
  },
};

export interface Detection {
  detector: Detector;
  match: string;
  index: number;
}

/** Every finding of the given detectors in `text`, in order of position. */
export function detect(text: string, which: readonly Detector[]): Detection[] {
  const found: Detection[] = [];
  for (const detector of which) {
    const spec = specs[detector];
    if (spec.mayMatch && !spec.mayMatch(text)) continue;
    for (const m of text.matchAll(spec.pattern)) {
      if (!spec.accept || spec.accept(m[0])) found.push({ detector, match: m[0], index: m.index ?? 0 });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** `text` with every finding replaced by `[email]`, `[phone]`, `[credit_card]`, `[api_key]`. */
export function maskDetected(text: string, which: readonly Detector[]): string {
  let out = '';
  let at = 0;
  for (const d of detect(text, which)) {
    if (d.index < at) continue;
    out += text.slice(at, d.index) + `[${d.detector}]`;
    at = d.index + d.match.length;
  }
  return out + text.slice(at);
}
