// `min_length` / `max_length`: an answer's length in characters (all of it, not only the checked part).
import { z } from 'zod';
import { defineCheckKind } from './kind.ts';

export const lengthsKind = defineCheckKind({
  name: 'lengths',
  docs: '`min_length` / `max_length`: violated when the text is shorter or longer (answers only, not tool calls).',
  fields: {
    min_length: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Violated when the text is shorter.' }),
    max_length: z.number().int().min(1).optional().meta({ description: 'Violated when the text is longer.' }),
  },
  keys: ['min_length', 'max_length'],
  // Lengths are about an answer's text, not a tool call's arguments.
  toolCalls: false,
  compile({ min_length: min, max_length: max }) {
    if (min === undefined && max === undefined) return undefined;
    return (_text, whole) => {
      const length = [...whole].length;
      if (min !== undefined && length < min) {
        return {
          evidence: whole,
          reason: `is ${length} characters long, shorter than the minimum of ${min}`,
        };
      }
      if (max !== undefined && length > max) {
        return {
          evidence: whole.slice(0, 200),
          reason: `is ${length} characters long, longer than the maximum of ${max}`,
        };
      }
      return null;
    };
  },
  problems(check) {
    const min = check['min_length'];
    const max = check['max_length'];
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      return [{ path: ['min_length'], message: 'must not be larger than max_length' }];
    }
    return [];
  },
});
