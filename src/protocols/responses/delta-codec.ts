// Where the text deltas of a Responses API stream are, where they end, and how held text goes out on its own.
import type { DeltaCodec, TextSlot } from '../../core/exchange/protocol.ts';
import { isObject, type Json } from './shape.ts';

const lastEvents = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error']);

/** The text field of each delta event, and the event a held text of that kind goes out in. */
const deltaKinds = {
  'response.output_text.delta': 'text',
  'response.refusal.delta': 'text',
  'response.function_call_arguments.delta': 'args',
} as const;

type DeltaType = keyof typeof deltaKinds;
const isDeltaType = (t: unknown): t is DeltaType => typeof t === 'string' && t in deltaKinds;

interface Slot {
  type: DeltaType;
  itemId: string;
  outputIndex: number;
  contentIndex: number;
}

/**
 * Keys are `${output_index}:${content_index}` for message text (output_text and refusal parts) and
 * `${output_index}:args` for function call arguments. A carrier event cannot get a sequence number of its own:
 * renumbering every later event would mean rewriting the whole relay, so it reuses the number of the last event
 * sent before it (the SDKs do not check the order; a duplicate number never hides the closing event after it).
 */
export function responsesDeltaCodec(): DeltaCodec {
  const slots = new Map<string, Slot>();
  let lastSequence = 0;
  const typeOf = (event: Json, name: string | undefined) =>
    typeof event['type'] === 'string' ? event['type'] : name;
  return {
    texts(event, name): TextSlot[] {
      if (typeof event['sequence_number'] === 'number') lastSequence = event['sequence_number'];
      const type = typeOf(event, name);
      const outputIndex = event['output_index'];
      if (!isDeltaType(type) || typeof outputIndex !== 'number' || typeof event['delta'] !== 'string')
        return [];
      const args = deltaKinds[type] === 'args';
      const contentIndex = typeof event['content_index'] === 'number' ? event['content_index'] : 0;
      const key = args ? `${outputIndex}:args` : `${outputIndex}:${contentIndex}`;
      const itemId = typeof event['item_id'] === 'string' ? event['item_id'] : '';
      slots.set(key, { type, itemId, outputIndex, contentIndex });
      return [
        {
          key,
          text: event['delta'],
          set(text: string) {
            event['delta'] = text;
          },
          ...(args ? { tool: true } : {}),
        },
      ];
    },
    closes(event, name) {
      if (event === '[DONE]') return 'all';
      const type = typeOf(event, name);
      if (type && lastEvents.has(type)) return 'all';
      const o = event['output_index'];
      const c = event['content_index'];
      switch (type) {
        case 'response.output_text.done':
        case 'response.refusal.done':
        case 'response.content_part.done':
          return typeof o === 'number' && typeof c === 'number' ? [`${o}:${c}`] : [];
        case 'response.function_call_arguments.done':
          return typeof o === 'number' ? [`${o}:args`] : [];
        case 'response.output_item.done':
          return [...slots.entries()].filter(([, s]) => s.outputIndex === o).map(([key]) => key);
        default:
          return [];
      }
    },
    toolEvent(event, name) {
      const type = typeOf(event, name);
      if (
        type === 'response.function_call_arguments.delta' ||
        type === 'response.function_call_arguments.done'
      )
        return true;
      if (type !== 'response.output_item.added' && type !== 'response.output_item.done') return false;
      const item = event['item'];
      return isObject(item) && item['type'] === 'function_call';
    },
    carrier(key, text) {
      const slot = slots.get(key) ?? slotOfKey(key);
      const fields: Json = {
        type: slot.type,
        sequence_number: lastSequence,
        item_id: slot.itemId,
        output_index: slot.outputIndex,
      };
      if (deltaKinds[slot.type] === 'text') fields['content_index'] = slot.contentIndex;
      fields['delta'] = text;
      if (slot.type === 'response.output_text.delta') fields['logprobs'] = [];
      return `event: ${slot.type}\ndata: ${JSON.stringify(fields)}\n\n`;
    },
  };
}

/** A key the codec never saw a delta of (it only makes keys from deltas): read back from the key itself. */
function slotOfKey(key: string): Slot {
  const [o, c] = key.split(':');
  const args = c === 'args';
  return {
    type: args ? 'response.function_call_arguments.delta' : 'response.output_text.delta',
    itemId: '',
    outputIndex: Number(o) || 0,
    contentIndex: args ? 0 : Number(c) || 0,
  };
}
