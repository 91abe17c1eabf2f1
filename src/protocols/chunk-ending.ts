// How a progressive stream ends in the two OpenAI chunk protocols (chat completions, legacy completions).
import type { StreamEnding } from '../core/exchange/protocol.ts';

type Json = Record<string, unknown>;

/**
 * Follows the chunks that went out (their id, created, model) and ends the stream as the upstream would have:
 * the refusal as a last text chunk, one chunk per choice with its finish_reason (`content_filter` when the rest
 * was refused), the usage chunk when the client asked for it, then `[DONE]`.
 */
export function chunkEnding(options: {
  object: string;
  includeUsage: boolean;
  /** A choice of a chunk: `text` as its delta (undefined: none), with `finish`. */
  choice(index: number, text: string | undefined, finish: string | null): Json;
}): StreamEnding {
  let base: Json = { id: '', object: options.object, created: Math.floor(Date.now() / 1000), model: '' };
  const chunk = (fields: Json) =>
    `data: ${JSON.stringify({ ...base, ...(options.includeUsage ? { usage: null } : {}), ...fields })}\n\n`;
  return {
    saw(event) {
      if (typeof event['id'] !== 'string') return;
      const next: Json = {};
      for (const key of ['id', 'object', 'created', 'model', 'system_fingerprint', 'service_tier'])
        if (event[key] != null) next[key] = event[key];
      base = next;
    },
    end({ texts, refusal, usage }) {
      // Choice keys are `n` (`n:k` are a choice's tool calls).
      const indexes = [...new Set([...texts.keys()].filter((k) => !k.includes(':')).map(Number))];
      if (indexes.length === 0) indexes.push(0);
      let out = '';
      for (const n of indexes) {
        if (refusal !== undefined) out += chunk({ choices: [options.choice(n, refusal, null)] });
        out += chunk({
          choices: [options.choice(n, undefined, refusal === undefined ? 'stop' : 'content_filter')],
        });
      }
      if (options.includeUsage) out += chunk({ choices: [], usage });
      return `${out}data: [DONE]\n\n`;
    },
  };
}
