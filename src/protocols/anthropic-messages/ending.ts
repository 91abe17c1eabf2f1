// How a progressive Messages stream ends after Tenet changed its course: open blocks stopped, then message_delta
// (stop_reason `end_turn`, or `refusal` when the constitution cut the rest) and message_stop.
import type { StreamEnding } from '../../core/exchange/protocol.ts';
import { sseEvent } from './stream.ts';

/** Follows the blocks that went out (started, not yet stopped) and closes them, the refusal in a text block. */
export function messagesEnding(): StreamEnding {
  const open = new Map<number, unknown>();
  let next = 0;
  return {
    saw(event, name) {
      const type = name ?? event['type'];
      const index = event['index'];
      if (typeof index !== 'number') return;
      if (type === 'content_block_start') {
        const block = event['content_block'];
        open.set(
          index,
          typeof block === 'object' && block !== null ? (block as { type?: unknown }).type : undefined,
        );
        next = Math.max(next, index + 1);
      } else if (type === 'content_block_stop') open.delete(index);
    },
    end({ refusal, usage }) {
      let out = '';
      if (refusal !== undefined) {
        // In the last open text block, or in a text block of its own.
        let at = [...open.entries()].filter(([, type]) => type === 'text').pop()?.[0];
        if (at === undefined) {
          at = next++;
          out += sseEvent({
            type: 'content_block_start',
            index: at,
            content_block: { type: 'text', text: '' },
          });
          open.set(at, 'text');
        }
        out += sseEvent({
          type: 'content_block_delta',
          index: at,
          delta: { type: 'text_delta', text: refusal },
        });
      }
      for (const index of [...open.keys()].sort((a, b) => a - b))
        out += sseEvent({ type: 'content_block_stop', index });
      open.clear();
      out += sseEvent({
        type: 'message_delta',
        delta: { stop_reason: refusal === undefined ? 'end_turn' : 'refusal', stop_sequence: null },
        usage: { output_tokens: usage.completion_tokens },
      });
      return out + sseEvent({ type: 'message_stop' });
    },
  };
}
