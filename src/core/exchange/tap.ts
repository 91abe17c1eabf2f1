// Reads a relayed stream on its way to the client: a copy for the record (and audit), secrets kept out.
import { EventShape } from '../event-shape.ts';
import type { StreamScrubber } from '../secret-scrub.ts';
import { scrubSseEvents } from '../secret-scrub.ts';
import { EventsDecoder, parseSse } from '../sse.ts';
import type { DeltaCodec, SseEvent, StreamAssembler } from './protocol.ts';

/** Adds an event to a stream's copy; an event that is not part of an answer is left out (it is still sent). */
export function assemble(assembler: StreamAssembler<unknown>, event: SseEvent): void {
  try {
    assembler.add(event);
  } catch {
    // not part of an answer: relayed, not assembled
  }
}

/**
 * A stream's tap: each chunk of whole events passes through it on its way to the client, feeding its events to
 * `assembler` (the record; audit mode judges after the fact) and keeping configured secrets out of them (`scrub`),
 * parsing each event once for both. An event the assembler cannot take is the client's to see as sent; the audit
 * judges what it can. A plain function the relay calls per chunk (see SseRelay), not a stream of its own: each
 * async generator between the upstream and the client costs its promises and turns on every chunk.
 */
export function eventTap(
  assembler: StreamAssembler<unknown> | undefined,
  scrub: { scrubber: StreamScrubber; codec: DeltaCodec } | undefined,
): (chunk: Uint8Array) => Uint8Array {
  const decoder = new EventsDecoder();
  const encoder = new TextEncoder();
  const add = assembler && ((event: SseEvent) => assemble(assembler, event));
  const appender = assembler?.appender?.bind(assembler);
  const shape = new EventShape();
  return (chunk) => {
    const text = decoder.decode(chunk);
    if (scrub) {
      const out = scrubSseEvents(text, scrub.scrubber, scrub.codec, add, shape, appender);
      return out === text ? chunk : encoder.encode(out);
    }
    if (add) for (const event of parseSse(text)) add(event);
    return chunk;
  };
}
