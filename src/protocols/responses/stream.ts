// Responses API streams: folding the semantic events into the `response`, writing one out as events, seeing the end.

import { TenetError } from '../../core/errors.ts';
import { textPieces } from '../../core/exchange/conversation.ts';
import type { SseEvent, StreamAssembler } from '../../core/exchange/protocol.ts';
import { containsDone } from '../../core/sse.ts';
import { isObject, type Json, type OutputItem, type ResponseObject } from './shape.ts';

const finalEvents = new Set(['response.completed', 'response.incomplete', 'response.failed']);
const startEvents = new Set(['response.created', 'response.in_progress', 'response.queued']);

const invalid = (what: string) =>
  new TenetError('upstream_invalid_response', `The upstream model sent a stream event that is not ${what}.`);

/**
 * Folds the events into the response they spell out. The final event (`response.completed`, `.incomplete`,
 * `.failed`) carries the whole response and wins; without one (or with an empty output there, as some
 * compatible servers send) the output is rebuilt from the item, part and delta events, the way the SDK does.
 */
export class ResponseAssembler implements StreamAssembler<ResponseObject> {
  #base: Json | undefined;
  #final: Json | undefined;
  #items: Json[] = [];

  add(event: SseEvent): void {
    if (event.data === '[DONE]') return;
    let json: unknown;
    try {
      json = JSON.parse(event.data);
    } catch {
      throw invalid('JSON');
    }
    if (!isObject(json)) throw invalid('a JSON object');
    const type = typeof json['type'] === 'string' ? json['type'] : event.event;
    if (type === 'error') {
      const message = typeof json['message'] === 'string' ? json['message'] : 'unknown error';
      throw new TenetError('upstream_error', `The upstream model failed mid-stream: ${message}`, {
        wireCode: typeof json['code'] === 'string' ? json['code'] : null,
        param: typeof json['param'] === 'string' ? json['param'] : null,
      });
    }
    if (type && (startEvents.has(type) || finalEvents.has(type))) {
      if (!isObject(json['response'])) throw invalid(`a ${type} event with its response`);
      if (finalEvents.has(type)) this.#final = json['response'];
      else this.#base = json['response'];
      return;
    }
    const at = json['output_index'];
    if (typeof at !== 'number') return; // keepalive, and events of no item
    if (type === 'response.output_item.added' || type === 'response.output_item.done') {
      if (isObject(json['item'])) this.#items[at] = structuredClone(json['item']);
      return;
    }
    // A delta before its item was announced: the item is rebuilt from what the delta says.
    const item =
      this.#items[at] ??
      (type?.startsWith('response.function_call_arguments.')
        ? { id: json['item_id'], type: 'function_call', call_id: '', name: '', arguments: '' }
        : { id: json['item_id'], type: 'message', role: 'assistant', content: [] });
    this.#items[at] = item;
    const c = json['content_index'];
    const content = Array.isArray(item['content']) ? (item['content'] as Json[]) : [];
    const part = typeof c === 'number' ? content[c] : undefined;
    switch (type) {
      case 'response.content_part.added':
      case 'response.content_part.done':
        if (typeof c === 'number' && isObject(json['part'])) content[c] = structuredClone(json['part']);
        break;
      case 'response.output_text.delta':
        if (typeof c === 'number') content[c] = appendTo(part, 'output_text', 'text', json['delta']);
        break;
      case 'response.output_text.done':
        if (part && typeof json['text'] === 'string') part['text'] = json['text'];
        break;
      case 'response.refusal.delta':
        if (typeof c === 'number') content[c] = appendTo(part, 'refusal', 'refusal', json['delta']);
        break;
      case 'response.refusal.done':
        if (part && typeof json['refusal'] === 'string') part['refusal'] = json['refusal'];
        break;
      case 'response.output_text.annotation.added':
        if (part && Array.isArray(part['annotations']) && typeof json['annotation_index'] === 'number')
          part['annotations'][json['annotation_index']] = json['annotation'];
        break;
      case 'response.function_call_arguments.delta':
        if (typeof json['delta'] === 'string')
          item['arguments'] = String(item['arguments'] ?? '') + json['delta'];
        break;
      case 'response.function_call_arguments.done':
        if (typeof json['arguments'] === 'string') item['arguments'] = json['arguments'];
        break;
    }
  }

  result(): ResponseObject {
    const rebuilt = this.#items.filter((item): item is Json => item !== undefined) as OutputItem[];
    const final = this.#final;
    if (final && Array.isArray(final['output']) && (final['output'].length > 0 || rebuilt.length === 0))
      return final as ResponseObject;
    const base = final ?? this.#base ?? {};
    const status = base['status'];
    return {
      ...base,
      id: typeof base['id'] === 'string' ? base['id'] : '',
      object: 'response',
      model: typeof base['model'] === 'string' ? base['model'] : '',
      status:
        status === 'in_progress' || status === 'queued' || status === undefined
          ? 'completed'
          : String(status),
      output: rebuilt,
    };
  }
}

function appendTo(part: Json | undefined, type: string, field: string, delta: unknown): Json {
  const out = part ?? { type, [field]: '', ...(type === 'output_text' ? { annotations: [] } : {}) };
  if (typeof delta === 'string') out[field] = String(out[field] ?? '') + delta;
  return out;
}

/** Writes `answer` as the event sequence the API streams, `sequence_number` counting from 0. */
export function responseToSse(answer: ResponseObject): string {
  let seq = 0;
  let out = '';
  const emit = (type: string, fields: Json) => {
    out += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  };
  // The API sends `usage: null` until the end; its schema wants an object or nothing, so it is left out.
  const started: Json = { ...answer, status: 'in_progress', output: [], incomplete_details: null };
  delete started['usage'];
  if ('completed_at' in answer) started['completed_at'] = null;
  if ('error' in answer) started['error'] = null;
  if ('output_text' in answer) delete started['output_text'];
  emit('response.created', { response: started });
  emit('response.in_progress', { response: started });
  answer.output.forEach((item, output_index) => {
    const item_id = typeof item['id'] === 'string' ? item['id'] : '';
    if (item.type === 'message' && Array.isArray(item['content'])) {
      emit('response.output_item.added', {
        output_index,
        item: { ...item, status: 'in_progress', content: [] },
      });
      (item['content'] as unknown[]).forEach((part, content_index) => {
        if (!isObject(part)) return;
        const at = { item_id, output_index, content_index };
        if (part['type'] === 'output_text' && typeof part['text'] === 'string') {
          emit('response.content_part.added', {
            ...at,
            part: { ...part, text: '', annotations: [], logprobs: [] },
          });
          for (const delta of textPieces(part['text']))
            emit('response.output_text.delta', { ...at, delta, logprobs: [] });
          const annotations = Array.isArray(part['annotations']) ? part['annotations'] : [];
          annotations.forEach((annotation, annotation_index) => {
            emit('response.output_text.annotation.added', { ...at, annotation_index, annotation });
          });
          const logprobs = Array.isArray(part['logprobs']) ? part['logprobs'] : [];
          emit('response.output_text.done', { ...at, text: part['text'], logprobs });
        } else if (part['type'] === 'refusal' && typeof part['refusal'] === 'string') {
          emit('response.content_part.added', { ...at, part: { ...part, refusal: '' } });
          for (const delta of textPieces(part['refusal'])) emit('response.refusal.delta', { ...at, delta });
          emit('response.refusal.done', { ...at, refusal: part['refusal'] });
        } else emit('response.content_part.added', { ...at, part });
        emit('response.content_part.done', { ...at, part });
      });
    } else if (item.type === 'function_call' && typeof item['arguments'] === 'string') {
      emit('response.output_item.added', {
        output_index,
        item: { ...item, status: 'in_progress', arguments: '' },
      });
      for (const delta of textPieces(item['arguments']))
        emit('response.function_call_arguments.delta', { item_id, output_index, delta });
      emit('response.function_call_arguments.done', {
        item_id,
        output_index,
        name: item['name'],
        arguments: item['arguments'],
      });
    } else emit('response.output_item.added', { output_index, item });
    emit('response.output_item.done', { output_index, item });
  });
  const last =
    answer.status === 'incomplete' || answer.status === 'failed'
      ? `response.${answer.status}`
      : 'response.completed';
  emit(last, { response: answer });
  return out;
}

const encode = (s: string) => new TextEncoder().encode(s);
const endings = [...finalEvents].map((name) => encode(`"${name}"`));
const typeKey = encode('"type"');
const COLON = 58;
const SPACE = 32;

/**
 * True when the bytes hold a final event (or `data: [DONE]`, which compatible servers may add). The event name is
 * matched as the value of `type` (`"type":"response.completed"`, spaces allowed), never as text inside a delta,
 * where its quotes would be escaped.
 */
export function responseStreamEnded(events: Uint8Array): boolean {
  for (const needle of endings) {
    const first = needle[0]!;
    for (let at = events.indexOf(first); at !== -1; at = events.indexOf(first, at + 1)) {
      if (!needle.every((b, k) => events[at + k] === b)) continue;
      let before = at - 1;
      while (events[before] === SPACE) before--;
      if (events[before] !== COLON) continue;
      before--;
      while (events[before] === SPACE) before--;
      if (typeKey.every((b, k) => events[before - typeKey.length + 1 + k] === b)) return true;
    }
  }
  return containsDone(events);
}
