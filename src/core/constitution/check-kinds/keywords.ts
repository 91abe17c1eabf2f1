// `keywords` (+ `whole_words`, `case_sensitive`): words or phrases, found in one scan.
import { z } from 'zod';
import { defineCheckKind } from './kind.ts';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const keywordsKind = defineCheckKind({
  name: 'keywords',
  docs: '`keywords` (whole words and case-insensitive by default: `whole_words`, `case_sensitive`): violated when one appears.',
  fields: {
    keywords: z
      .array(z.string().trim().min(1, 'must not be empty'))
      .min(1, 'must list at least one keyword')
      .optional()
      .meta({ description: 'Words or phrases; the principle is violated when one appears.' }),
    whole_words: z
      .boolean()
      .optional()
      .meta({ description: 'Match keywords only as whole words (default true).' }),
    case_sensitive: z
      .boolean()
      .optional()
      .meta({ description: 'Match keywords case-sensitively (default false).' }),
  },
  keys: ['keywords'],
  toolCalls: true,
  compile(check) {
    if (!check.keywords) return undefined;
    // One regex, so a long list costs one scan.
    const alternatives = check.keywords.map((k) => escapeRegExp(k).replace(/\s+/g, '\\s+')).join('|');
    // Unicode-aware word boundaries: \b only knows ASCII letters.
    const source =
      (check.whole_words ?? true)
        ? `(?<![\\p{L}\\p{N}_])(?:${alternatives})(?![\\p{L}\\p{N}_])`
        : `(?:${alternatives})`;
    const keywords = new RegExp(source, check.case_sensitive ? 'u' : 'iu');
    return (text) => {
      const m = keywords.exec(text);
      return m ? { evidence: m[0], reason: `contains the keyword "${m[0]}"` } : null;
    };
  },
  lint(check) {
    if ((check.whole_words === undefined && check.case_sensitive === undefined) || check.keywords) return [];
    return [
      { path: [], message: 'whole_words and case_sensitive only apply to keywords, and there are none' },
    ];
  },
});
