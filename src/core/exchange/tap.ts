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
 * Passes events through while feeding them to `assembler` (the record; audit mode judges after the fact), and
 * keeps configured secrets out of them (`scrub`), parsing each event once for both. An event the assembler
 * cannot take is the client's to see as sent; the audit judges what it can.
 */
export async function* tapEvents(
  events: AsyncGenerator<Uint8Array>,
  assembler: StreamAssembler<unknown> | undefined,
  scrub: { scrubber: StreamScrubber; codec: DeltaCodec } | undefined,
): AsyncGenerator<Uint8Array> {
  const decoder = new EventsDecoder();
  const encoder = new TextEncoder();
  const add = assembler && ((event: SseEvent) => assemble(assembler, event));
  const shape = new EventShape();
  for await (const chunk of events) {
    const text = decoder.decode(chunk);
    if (scrub) {
      const out = scrubSseEvents(text, scrub.scrubber, scrub.codec, add, shape);
      yield out === text ? chunk : encoder.encode(out);
      continue;
    }
    if (add) for (const event of parseSse(text)) add(event);
    yield chunk;
  }
}
