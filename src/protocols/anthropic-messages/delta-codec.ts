// Where the texts of a Messages stream are, for the secret scrubber: text and tool-input deltas, keyed by block.
import type { DeltaCodec, TextSlot } from '../../core/exchange/protocol.ts';
import { sseEvent, takesInputJson } from './stream.ts';

/**
 * Keys are block indexes: a text block's `text_delta`s and a tool block's `input_json_delta`s are one text each,
 * ended by the block's `content_block_stop`; message_delta and message_stop end whatever is left. The codec
 * remembers each block's type from its start event, so held text goes out as the delta that block takes.
 */
export function messagesDeltaCodec(): DeltaCodec {
  const types = new Map<number, unknown>();
  const nameOf = (event: Record<string, unknown>, name: string | undefined) => name ?? event['type'];
  return {
    texts(event, name) {
      const type = nameOf(event, name);
      const index = event['index'];
      if (typeof index !== 'number') return [];
      if (type === 'content_block_start') {
        const block = event['content_block'];
        types.set(
          index,
          typeof block === 'object' && block !== null ? (block as { type?: unknown }).type : undefined,
        );
        return [];
      }
      const delta = event['delta'];
      if (type !== 'content_block_delta' || typeof delta !== 'object' || delta === null) return [];
      const d = delta as Record<string, unknown>;
      const field =
        d['type'] === 'text_delta' ? 'text' : d['type'] === 'input_json_delta' ? 'partial_json' : null;
      const text = field === null ? undefined : d[field];
      if (field === null || typeof text !== 'string') return [];
      const slot: TextSlot = {
        key: `${index}`,
        text,
        set: (t) => (d[field] = t),
        ...(field === 'partial_json' ? { tool: true } : {}),
      };
      return [slot];
    },
    closes(event, name) {
      if (event === '[DONE]') return 'all';
      const type = nameOf(event, name);
      if (type === 'message_delta' || type === 'message_stop' || type === 'error') return 'all';
      if (type === 'content_block_stop' && typeof event['index'] === 'number') return [`${event['index']}`];
      return [];
    },
    toolEvent(event, name) {
      const type = nameOf(event, name);
      const index = event['index'];
      if (typeof index !== 'number') return false;
      if (type === 'content_block_start') {
        const block = event['content_block'];
        return (
          typeof block === 'object' && block !== null && takesInputJson((block as { type?: unknown }).type)
        );
      }
      return (
        (type === 'content_block_delta' || type === 'content_block_stop') && takesInputJson(types.get(index))
      );
    },
    carrier(key, text) {
      const index = Number(key);
      const delta = takesInputJson(types.get(index))
        ? { type: 'input_json_delta', partial_json: text }
        : { type: 'text_delta', text };
      return sseEvent({ type: 'content_block_delta', index, delta });
    },
  };
}
