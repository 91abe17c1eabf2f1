// Where the text deltas of a `text_completion` stream are, where each ends, and how held text goes out alone.
import type { DeltaCodec, TextSlot } from '../../core/exchange/protocol.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The choice objects of a chunk (`choices: []` for the usage chunk). */
function choicesOf(event: Json): Json[] {
  const choices = event['choices'];
  return Array.isArray(choices) ? choices.filter(isObject) : [];
}

/**
 * One codec per stream. A choice's text is keyed by its index (`"0"`, `"1"`, …); a chunk whose choice has a
 * finish_reason ends that key, `[DONE]` ends them all. A carrier is a chunk like the upstream's last one.
 */
export class TextCompletionDeltaCodec implements DeltaCodec {
  #last: Json = { id: '', object: 'text_completion', created: 0, model: '' };

  #remember(event: Json): void {
    const last: Json = { object: 'text_completion' };
    for (const key of ['id', 'object', 'created', 'model', 'system_fingerprint'])
      if (event[key] != null) last[key] = event[key];
    if (typeof last['id'] === 'string') this.#last = last;
  }

  texts(event: Json, _name: string | undefined): TextSlot[] {
    this.#remember(event);
    const slots: TextSlot[] = [];
    for (const choice of choicesOf(event)) {
      const text = choice['text'];
      if (typeof text !== 'string' || typeof choice['index'] !== 'number') continue;
      slots.push({
        key: `${choice['index']}`,
        text,
        set(next: string) {
          choice['text'] = next;
        },
      });
    }
    return slots;
  }

  closes(event: Json | '[DONE]', _name: string | undefined): string[] | 'all' {
    if (event === '[DONE]') return 'all';
    return choicesOf(event)
      .filter((c) => c['finish_reason'] != null && typeof c['index'] === 'number')
      .map((c) => `${c['index']}`);
  }

  /** Legacy completions have no tool calls. */
  toolEvent(): boolean {
    return false;
  }

  carrier(key: string, text: string): string {
    const choice = { text, index: Number(key), logprobs: null, finish_reason: null };
    return `data: ${JSON.stringify({ ...this.#last, choices: [choice] })}\n\n`;
  }
}
