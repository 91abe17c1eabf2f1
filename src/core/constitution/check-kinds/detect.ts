// `detect`: the built-in detectors of personal data and secrets (src/core/detectors.ts).
import { z } from 'zod';
import { detect } from '../../detectors.ts';
import { defineCheckKind } from './kind.ts';

export const detectors = ['email', 'phone', 'credit_card', 'api_key'] as const;

export const detectKind = defineCheckKind({
  name: 'detect',
  docs: `\`detect: [${detectors.join(', ')}]\`: built-in detectors of personal data and secrets.`,
  fields: {
    detect: z
      .array(z.enum(detectors))
      .min(1, 'must list at least one detector')
      .optional()
      .meta({ description: `Built-in detectors of personal data and secrets: ${detectors.join(', ')}.` }),
  },
  keys: ['detect'],
  toolCalls: true,
  compile(check) {
    const wanted = check.detect;
    if (!wanted) return undefined;
    return (text) => {
      const [found] = detect(text, wanted);
      return found
        ? { evidence: found.match, reason: `contains ${found.detector.replace('_', ' ')} data` }
        : null;
    };
  },
});
