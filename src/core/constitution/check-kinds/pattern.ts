// `pattern` (+ `flags`): a regular expression; refused at load when it can backtrack for a long time.
import { z } from 'zod';
import { maxPatternLength, regexRisk } from '../regex-safety.ts';
import { defineCheckKind } from './kind.ts';

const validFlags = /^[imsu]*$/;

export const patternKind = defineCheckKind({
  name: 'pattern',
  docs: '`pattern` (+ `flags` i/m/s/u): a regular expression; the principle is violated when it matches.',
  fields: {
    pattern: z
      .string()
      .min(1)
      .max(
        maxPatternLength,
        `must be at most ${maxPatternLength} characters: split it into several principles`,
      )
      .optional()
      .meta({
        description:
          'A regular expression (JavaScript syntax). The principle is violated when it matches. Patterns that ' +
          'can backtrack for exponential, polynomial or quadratic time (e.g. `(a+)+`, `\\d+\\d+$`, `[a-z]+@`) are refused.',
      }),
    flags: z.string().regex(validFlags, 'may only contain the flags i, m, s and u').optional().meta({
      description: 'Flags for `pattern`: i (ignore case), m (multi-line), s (dot matches newline), u.',
    }),
  },
  keys: ['pattern'],
  toolCalls: true,
  compile(check) {
    if (check.pattern === undefined) return undefined;
    const pattern = new RegExp(check.pattern, check.flags ?? '');
    const reason = `matches the pattern /${check.pattern}/${check.flags ?? ''}`;
    return (text) => {
      const m = pattern.exec(text);
      return m ? { evidence: m[0], reason } : null;
    };
  },
  refine({ pattern, flags = '' }) {
    // A pattern that could stall the proxy is an error at its file:line:col, like any other schema error.
    if (pattern === undefined || pattern.length > maxPatternLength) return [];
    try {
      new RegExp(pattern, flags);
    } catch {
      return []; // reported as an invalid regular expression by problems() below
    }
    const risk = regexRisk(pattern, flags);
    return risk ? [{ path: ['pattern'], message: risk }] : [];
  },
  problems(check) {
    if (typeof check['pattern'] !== 'string') return [];
    const flags = typeof check['flags'] === 'string' && validFlags.test(check['flags']) ? check['flags'] : '';
    try {
      new RegExp(check['pattern'], flags);
      return [];
    } catch (err) {
      const why =
        err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
      return [{ path: ['pattern'], message: `is not a valid regular expression: ${why}` }];
    }
  },
  lint(check) {
    const out = [];
    if (check.flags !== undefined && check.pattern === undefined) {
      out.push({ path: ['flags'], message: 'flags only apply to a pattern, and there is none' });
    }
    const empty = check.pattern !== undefined && new RegExp(check.pattern, check.flags ?? '').exec('');
    if (empty) {
      out.push({
        path: ['pattern'],
        message: 'the pattern matches an empty text, so it fires on every answer',
      });
    }
    return out;
  },
});
