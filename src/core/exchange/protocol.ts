// The Protocol interface: what one client-facing API (chat completions, responses, completions, messages) supplies.
import type { TenetError } from '../errors.ts';
import type { OutputContract } from '../output-contract.ts';
import type { Conversation, Draft, FinalChoice, Usage } from './conversation.ts';

export const protocolIds = ['chat', 'responses', 'completions', 'messages'] as const;
export type ProtocolId = (typeof protocolIds)[number];

/** A request as its protocol validated it, with what the exchange needs to judge it. */
export interface ParsedRequest<Body = unknown> {
  /** The validated request (every field the client sent is kept: the raw text goes upstream unchanged). */
  body: Body;
  model: string;
  stream: boolean;
  conversation: Conversation;
  /** How many answers the client asked for (chat and completions `n`; 1 elsewhere). */
  choices: number;
  /** Sampling temperature and output limit for revisions (the client's own). */
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  /** What the answer must be (JSON, its tools): every revision call carries it, and the loop checks it. */
  contract?: OutputContract | undefined;
}

/** One complete server-sent event: its `event:` name (absent for OpenAI chat chunks) and its data. */
export interface SseEvent {
  event?: string | undefined;
  data: string;
  /** The data already parsed as JSON, when the caller had to parse it anyway (assemblers may skip their parse). */
  json?: unknown;
}

/** Folds a stream's events into the JSON answer they spell out (the record, audit mode, buffer mode). */
export interface StreamAssembler<Answer> {
  /** Throws a TenetError (`upstream_invalid_response`) on an event that cannot be part of an answer. */
  add(event: SseEvent): void;
  /**
   * Right after `add(event)`: a cheaper way to add the events that are identical to `event` but for the text of
   * its slot `key` (a DeltaCodec key), taking that text alone, when adding such an event would do nothing but
   * append its text; undefined when it would do more (then each is added whole). Optional: without it, every
   * event is.
   */
  appender?(event: SseEvent, key: string): ((text: string) => void) | undefined;
  result(): Answer;
}

/** One text delta of a streamed answer, under the key of the text it extends (a choice, a content block). */
export interface TextSlot {
  key: string;
  text: string;
  set(text: string): void;
  /** A tool call's arguments, not the answer's text (progressive streams hold these whole until judged). */
  tool?: boolean;
}

/**
 * How configured secrets are kept out of one stream without buffering it: the generic scrubber holds back the
 * end of a text that could begin a secret, and needs to know where texts are, where they end, and how to send
 * held text on its own. One codec per stream (it may remember ids from earlier events).
 */
export interface DeltaCodec {
  /** The text deltas of one parsed event (mutable through `set`). */
  texts(event: Record<string, unknown>, name: string | undefined): TextSlot[];
  /** Keys whose text ends with this event ('all' for the stream's last event): held text goes out before it. */
  closes(event: Record<string, unknown> | '[DONE]', name: string | undefined): string[] | 'all';
  /** A complete SSE event (with its blank line) carrying `text` as the next delta of `key`. */
  carrier(key: string, text: string): string;
  /** Whether the event is part of a tool call (its start, arguments or end): progressive streams hold it. */
  toolEvent(event: Record<string, unknown>, name: string | undefined): boolean;
}

/**
 * How a progressive stream ends when Tenet changed its course (a continuation revision took over, or the rest was
 * refused): it follows the events that went out (ids, open parts, sequence numbers), then closes the answer in
 * the protocol's own shapes.
 */
export interface StreamEnding {
  /** Every event that went out to the client, parsed, in order. */
  saw(event: Record<string, unknown>, name: string | undefined): void;
  /**
   * The events that end the stream, every text having gone out as `texts` (per codec key) says. `refusal`: text
   * the constitution adds at the end (sent here, in the last open text part or a new one), and the answer ends
   * as cut off by a content filter (finish_reason `content_filter`, stop_reason `refusal`, status `incomplete`).
   */
  end(ending: { texts: ReadonlyMap<string, string>; refusal?: string | undefined; usage: Usage }): string;
}

/**
 * A client-facing API. `Answer` is the protocol's own JSON answer object (a chat.completion, a response, a
 * message): the exchange never looks inside it, the protocol reads drafts out of it and puts finals back.
 */
export interface Protocol<Body = unknown, Answer = unknown> {
  id: ProtocolId;
  /** The route it guards, after path normalisation (e.g. `/v1/chat/completions`). */
  path: string;
  /** Which upstream serves it: the OpenAI-compatible one, or the Anthropic one. */
  upstream: 'openai' | 'anthropic';
  /** The path below that upstream's base URL (`/chat/completions`; `/v1/messages` for Anthropic). */
  upstreamPath: string;
  /** Validates the raw body; throws a 400 TenetError naming the bad param. */
  parse(text: string): ParsedRequest<Body>;
  /** Reads a JSON answer; throws `upstream_invalid_response` when it is not one. */
  readAnswer(text: string): Answer;
  assembler(): StreamAssembler<Answer>;
  /** Whether these complete SSE events hold the stream's last one (`[DONE]`, `message_stop`, …). */
  streamEnded(events: Uint8Array): boolean;
  draftOf(answer: Answer): Draft;
  /** The answer with revised texts and refusals put back; `revisionUsage` is added to its usage. */
  applyFinal(
    answer: Answer,
    finals: readonly FinalChoice[],
    revisionUsage: Usage,
    request: ParsedRequest<Body>,
  ): Answer;
  /** A whole answer that refuses with `message`, for a request refused before any model was asked. */
  refusal(request: ParsedRequest<Body>, message: string): Answer;
  /** An answer as the complete SSE stream this protocol's clients expect. */
  toSse(answer: Answer, request: ParsedRequest<Body>): string;
  /** The JSON body of an HTTP error in this protocol's shape. */
  errorBody(err: TenetError): unknown;
  /** An error event that ends a stream already started, as this protocol's SDKs raise it. */
  sseError(err: TenetError): string;
  deltaCodec(): DeltaCodec;
  /** Ends a progressive stream after Tenet changed its course (one per stream). */
  streamEnding(request: ParsedRequest<Body>): StreamEnding;
}

/** Any protocol, whatever its body and answer types (the app's registry holds them together). */
// biome-ignore lint/suspicious/noExplicitAny: the registry is heterogeneous; each protocol is typed inside.
export type AnyProtocol = Protocol<any, any>;
