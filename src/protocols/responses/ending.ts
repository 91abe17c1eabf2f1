// How a progressive Responses stream ends after Tenet changed its course: the open parts and items closed with the
// text that went out, then `response.completed` (or `response.incomplete` for a content filter's cut).
import type { StreamEnding } from '../../core/exchange/protocol.ts';
import { responseUsage } from './answer.ts';
import { isObject, type Json, tenetId } from './shape.ts';

interface OpenItem {
  item: Json;
  /** The item's content parts as added, by content_index. */
  parts: Json[];
  done?: Json;
}

/**
 * Follows the events that went out: the response as created, each output item and content part added, the items
 * done, and the last sequence number (the ending's events count on from it). Message text keys are
 * `output_index:content_index`, as the delta codec makes them.
 */
export function responsesEnding(): StreamEnding {
  let response: Json = { id: tenetId('resp'), object: 'response', status: 'in_progress', output: [] };
  const items = new Map<number, OpenItem>();
  let sequence = -1;
  return {
    saw(event, name) {
      const type = typeof event['type'] === 'string' ? event['type'] : name;
      if (typeof event['sequence_number'] === 'number')
        sequence = Math.max(sequence, event['sequence_number']);
      const o = event['output_index'];
      if ((type === 'response.created' || type === 'response.in_progress') && isObject(event['response']))
        response = event['response'];
      else if (type === 'response.output_item.added' && typeof o === 'number' && isObject(event['item']))
        items.set(o, { item: event['item'], parts: [] });
      else if (type === 'response.content_part.added' && typeof o === 'number' && isObject(event['part'])) {
        const c = typeof event['content_index'] === 'number' ? event['content_index'] : 0;
        const open = items.get(o);
        if (open) open.parts[c] = event['part'];
      } else if (type === 'response.output_item.done' && typeof o === 'number' && isObject(event['item'])) {
        const open = items.get(o);
        if (open) open.done = event['item'];
      }
    },
    end({ texts, refusal, usage }) {
      let out = '';
      const emit = (type: string, fields: Json) => {
        sequence++;
        out += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...fields })}\n\n`;
      };
      // The refusal goes at the end of the last text part that went out, or in a message of its own.
      let last = [...texts.keys()].filter((k) => !k.endsWith(':args')).pop();
      if (refusal !== undefined && last === undefined) {
        const output_index = items.size === 0 ? 0 : Math.max(...items.keys()) + 1;
        const item: Json = {
          id: tenetId('msg'),
          type: 'message',
          role: 'assistant',
          status: 'in_progress',
          content: [],
        };
        emit('response.output_item.added', { output_index, item });
        const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
        emit('response.content_part.added', { item_id: item['id'], output_index, content_index: 0, part });
        items.set(output_index, { item, parts: [part] });
        last = `${output_index}:0`;
      }
      const output: Json[] = [];
      for (const [output_index, open] of [...items.entries()].sort((a, b) => a[0] - b[0])) {
        if (open.done) {
          output.push(open.done);
          continue;
        }
        const item_id = open.item['id'];
        const content = open.parts.map((part, content_index) => {
          const key = `${output_index}:${content_index}`;
          const at = { item_id, output_index, content_index };
          let text = texts.get(key) ?? '';
          if (refusal !== undefined && key === last) {
            emit('response.output_text.delta', { ...at, delta: refusal, logprobs: [] });
            text += refusal;
          }
          if (part['type'] !== 'output_text') return part;
          const whole = { ...part, text };
          emit('response.output_text.done', { ...at, text, logprobs: [] });
          emit('response.content_part.done', { ...at, part: whole });
          return whole;
        });
        const item = {
          ...open.item,
          status: refusal === undefined ? 'completed' : 'incomplete',
          ...(open.item['type'] === 'message' ? { content } : {}),
        };
        emit('response.output_item.done', { output_index, item });
        output.push(item);
      }
      const final: Json = {
        ...response,
        status: refusal === undefined ? 'completed' : 'incomplete',
        incomplete_details: refusal === undefined ? null : { reason: 'content_filter' },
        output,
        usage: responseUsage(usage),
      };
      if ('completed_at' in response)
        final['completed_at'] = refusal === undefined ? Math.floor(Date.now() / 1000) : null;
      emit(refusal === undefined ? 'response.completed' : 'response.incomplete', { response: final });
      return out;
    },
  };
}
