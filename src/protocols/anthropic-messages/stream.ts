// Messages API streams: folding their events into the message they spell out, and writing a message as events.
import { TenetError } from '../../core/errors.ts';
import { textPieces } from '../../core/exchange/conversation.ts';
import type { SseEvent, StreamAssembler } from '../../core/exchange/protocol.ts';
import { type MessageAnswer, messageAnswerOf } from './answer.ts';
import type { Block } from './blocks.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const invalid = (what: string) =>
  new TenetError(
    'upstream_invalid_response',
    `The upstream model sent a stream that is not a message: ${what}.`,
  );

/** Blocks whose `input` arrives as `input_json_delta` pieces of JSON text. */
export const takesInputJson = (type: unknown): boolean => type === 'tool_use' || type === 'server_tool_use';

/**
 * Folds the events of a Messages stream into the message the non-streamed API returns: message_start's message,
 * each block from its start event and deltas (tool input parsed from its JSON pieces), message_delta's stop
 * reason and usage (counters it carries replace message_start's: they are whole-message totals).
 */
export class MessageAssembler implements StreamAssembler<MessageAnswer> {
  #message: Json | undefined;
  #blocks = new Map<number, Json>();
  #inputJson = new Map<number, string>();

  add(event: SseEvent): void {
    if (event.event === 'ping' || event.data === '') return;
    let data = event.json;
    if (data === undefined) {
      try {
        data = JSON.parse(event.data);
      } catch {
        throw invalid('an event is not JSON');
      }
    }
    if (!isObject(data)) throw invalid('an event is not a JSON object');
    const type = event.event ?? data['type'];
    if (type === 'error') throw streamedError(data);
    if (type === 'message_start') {
      if (!isObject(data['message'])) throw invalid('message_start has no message');
      this.#message = { ...data['message'] };
    } else if (type === 'message_delta') this.#delta(data);
    else if (
      type === 'content_block_start' ||
      type === 'content_block_delta' ||
      type === 'content_block_stop'
    )
      this.#block(type, data);
  }

  #block(type: string, data: Json): void {
    const index = data['index'];
    if (typeof index !== 'number') throw invalid(`${type} has no index`);
    if (type === 'content_block_start') {
      if (!isObject(data['content_block'])) throw invalid('content_block_start has no content_block');
      this.#blocks.set(index, { ...data['content_block'] });
      return;
    }
    const block = this.#blocks.get(index);
    if (!block) throw invalid(`block ${index} has a delta or stop before its start`);
    if (type === 'content_block_stop') {
      this.#parseInput(index, block);
      return;
    }
    const delta = data['delta'];
    if (!isObject(delta)) throw invalid('content_block_delta has no delta');
    const append = (field: string, piece: unknown) => {
      if (typeof piece === 'string') block[field] = String(block[field] ?? '') + piece;
    };
    if (delta['type'] === 'text_delta') append('text', delta['text']);
    else if (delta['type'] === 'thinking_delta') append('thinking', delta['thinking']);
    else if (delta['type'] === 'signature_delta') block['signature'] = delta['signature'];
    else if (delta['type'] === 'citations_delta') {
      const citations = Array.isArray(block['citations']) ? block['citations'] : [];
      block['citations'] = [...citations, delta['citation']];
    } else if (delta['type'] === 'input_json_delta' && typeof delta['partial_json'] === 'string')
      this.#inputJson.set(index, (this.#inputJson.get(index) ?? '') + delta['partial_json']);
  }

  #delta(data: Json): void {
    if (!this.#message) throw invalid('message_delta before message_start');
    const delta = data['delta'];
    if (isObject(delta)) {
      for (const [key, value] of Object.entries(delta)) {
        // A null container leaves the one message_start named (the SDK's own accumulation does the same).
        if (key === 'container' && value == null && this.#message[key] != null) continue;
        this.#message[key] = value;
      }
    }
    if (isObject(data['usage'])) {
      const usage: Json = isObject(this.#message['usage']) ? { ...this.#message['usage'] } : {};
      for (const [key, value] of Object.entries(data['usage'])) if (value != null) usage[key] = value;
      this.#message['usage'] = usage;
    }
  }

  /** A tool block's input is whole at its stop: the JSON pieces parsed ('' is an empty input). */
  #parseInput(index: number, block: Json): void {
    const text = this.#inputJson.get(index);
    if (text === undefined) return;
    this.#inputJson.delete(index);
    try {
      block['input'] = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw invalid(`the input of block ${index} is not JSON`);
    }
  }

  result(): MessageAnswer {
    if (!this.#message) throw invalid('it has no message_start');
    for (const [index, block] of this.#blocks) this.#parseInput(index, block);
    const content = [...this.#blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block);
    return messageAnswerOf({ ...this.#message, content });
  }
}

/** An `error` event of the upstream's stream, as the error it is. */
function streamedError(data: Json): TenetError {
  const error = isObject(data['error']) ? data['error'] : {};
  const message = typeof error['message'] === 'string' ? error['message'] : 'an error event';
  const type = typeof error['type'] === 'string' ? error['type'] : 'api_error';
  return new TenetError('upstream_stream_broken', `The upstream model's stream failed: ${message}`, { type });
}

const LF = 10;
const CR = 13;
const eventField = [...'event:'].map((c) => c.charCodeAt(0));
const lastEvents = ['message_stop', 'error'].map((name) => [...name].map((c) => c.charCodeAt(0)));

/** True when `events` holds an `event: message_stop` (or `event: error`) line. Works on bytes: no decoding. */
export function messageStreamEnded(events: Uint8Array): boolean {
  for (let at = events.indexOf(101); at !== -1; at = events.indexOf(101, at + 1)) {
    if (at > 0 && events[at - 1] !== LF && events[at - 1] !== CR) continue;
    if (!eventField.every((b, k) => events[at + k] === b)) continue;
    let start = at + eventField.length;
    if (events[start] === 32) start++;
    for (const name of lastEvents) {
      const end = events[start + name.length];
      if ((end === LF || end === CR) && name.every((b, k) => events[start + k] === b)) return true;
    }
  }
  return false;
}

export const sseEvent = (data: Json): string =>
  `event: ${String(data['type'])}\ndata: ${JSON.stringify(data)}\n\n`;

/** One block as its start event (what arrives whole) and the deltas that spell out the rest. */
function blockEvents(block: Block, index: number): string {
  const delta = (d: Json) => sseEvent({ type: 'content_block_delta', index, delta: d });
  let start: Json = block;
  let deltas = '';
  if (block.type === 'text' && typeof block['text'] === 'string') {
    const citations = Array.isArray(block['citations']) ? block['citations'] : undefined;
    start = { ...block, text: '', ...(citations ? { citations: [] } : {}) };
    for (const citation of citations ?? []) deltas += delta({ type: 'citations_delta', citation });
    for (const piece of textPieces(block['text'])) deltas += delta({ type: 'text_delta', text: piece });
  } else if (block.type === 'thinking' && typeof block['thinking'] === 'string') {
    start = { ...block, thinking: '', signature: '' };
    for (const piece of textPieces(block['thinking']))
      deltas += delta({ type: 'thinking_delta', thinking: piece });
    if (typeof block['signature'] === 'string' && block['signature'])
      deltas += delta({ type: 'signature_delta', signature: block['signature'] });
  } else if (takesInputJson(block.type)) {
    start = { ...block, input: {} };
    deltas = delta({ type: 'input_json_delta', partial_json: JSON.stringify(block['input'] ?? {}) });
  }
  return (
    sseEvent({ type: 'content_block_start', index, content_block: start }) +
    deltas +
    sseEvent({ type: 'content_block_stop', index })
  );
}

/**
 * A message as the events the API streams: message_start (the message without content, stop reason and output
 * tokens), each block's start, deltas and stop, message_delta (stop reason, output tokens), message_stop.
 */
export function messageToSse(answer: MessageAnswer): string {
  const { content, usage, ...message } = answer;
  const stop: Json = { stop_reason: answer.stop_reason ?? null, stop_sequence: answer.stop_sequence ?? null };
  for (const key of ['stop_details', 'container'])
    if (key in answer) stop[key] = (answer as Json)[key] ?? null;
  const start: Json = { ...message, content: [], stop_reason: null, stop_sequence: null };
  if ('stop_details' in answer) start['stop_details'] = null;
  if (usage) start['usage'] = { ...usage, output_tokens: 0 };
  let out = sseEvent({ type: 'message_start', message: start });
  content.forEach((block, index) => {
    out += blockEvents(block, index);
  });
  out += sseEvent({
    type: 'message_delta',
    delta: stop,
    usage: { output_tokens: usage?.output_tokens ?? 0 },
  });
  return out + sseEvent({ type: 'message_stop' });
}
