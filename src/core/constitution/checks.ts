// Deterministic checks: patterns, keywords, detectors and lengths, decided without a critic call.
import { detect } from '../detectors.ts';
import type { CheckSpec } from './schema.ts';

export interface CheckHit {
  /** The text that fired the check, verbatim from the judged text (for a length, a description). */
  evidence: string;
  /** Why it fired, in words for a reviewer. */
  reason: string;
}

export type CompiledCheck = (text: string) => CheckHit | null;

/**
 * Patterns, keywords and detectors read at most this many characters of a text (lengths count all of it).
 * Patterns are checked for catastrophic backtracking when they load (regex-safety.ts); this bounds what is left,
 * e.g. the quadratic search of `[A-Z]{2,}@`, and keeps one huge message from holding the event loop. 1 MB is
 * far beyond any model answer (the critic reads every character, in windows: critique.ts `critiqueWindows`).
 */
export const maxCheckedChars = 1_000_000;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Builds the regular expression for a keyword list (one regex, so a long list costs one scan). */
export function keywordRegExp(spec: CheckSpec): RegExp | undefined {
  if (!spec.keywords) return undefined;
  const alternatives = spec.keywords.map((k) => escapeRegExp(k).replace(/\s+/g, '\\s+')).join('|');
  const wholeWords = spec.whole_words ?? true;
  // Unicode-aware word boundaries: \b only knows ASCII letters.
  const source = wholeWords
    ? `(?<![\\p{L}\\p{N}_])(?:${alternatives})(?![\\p{L}\\p{N}_])`
    : `(?:${alternatives})`;
  return new RegExp(source, spec.case_sensitive ? 'u' : 'iu');
}

/** Compiles a check once; the result judges a text in one pass per part. Throws on an invalid pattern. */
export function compileCheck(spec: CheckSpec): CompiledCheck {
  const pattern = spec.pattern === undefined ? undefined : new RegExp(spec.pattern, spec.flags ?? '');
  const keywords = keywordRegExp(spec);
  const detectors = spec.detect;
  const { min_length: min, max_length: max } = spec;
  return (whole) => {
    const text = whole.length > maxCheckedChars ? whole.slice(0, maxCheckedChars) : whole;
    if (pattern) {
      const m = pattern.exec(text);
      if (m) return { evidence: m[0], reason: `matches the pattern /${spec.pattern}/${spec.flags ?? ''}` };
    }
    if (keywords) {
      const m = keywords.exec(text);
      if (m) return { evidence: m[0], reason: `contains the keyword "${m[0]}"` };
    }
    if (detectors) {
      const [found] = detect(text, detectors);
      if (found)
        return { evidence: found.match, reason: `contains ${found.detector.replace('_', ' ')} data` };
    }
    const length = [...whole].length;
    if (min !== undefined && length < min) {
      return { evidence: whole, reason: `is ${length} characters long, shorter than the minimum of ${min}` };
    }
    if (max !== undefined && length > max) {
      return {
        evidence: whole.slice(0, 200),
        reason: `is ${length} characters long, longer than the maximum of ${max}`,
      };
    }
    return null;
  };
}

const compiled = new WeakMap<CheckSpec, CompiledCheck>();

/** Runs a check, compiling it on first use (specs are immutable once a constitution is resolved). */
export function runCheck(spec: CheckSpec, text: string): CheckHit | null {
  let fn = compiled.get(spec);
  if (!fn) {
    fn = compileCheck(spec);
    compiled.set(spec, fn);
  }
  return fn(text);
}

const withoutLengths = new WeakMap<CheckSpec, CheckSpec>();

/** Runs a check on a tool call: patterns, keywords and detectors; lengths are about an answer's text. */
export function runCheckOnToolCall(spec: CheckSpec, call: string): CheckHit | null {
  let own = withoutLengths.get(spec);
  if (!own) {
    const { min_length: _min, max_length: _max, ...rest } = spec;
    own = rest;
    withoutLengths.set(spec, own);
  }
  return runCheck(own, call);
}
