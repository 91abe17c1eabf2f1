// The protocol-neutral shapes the exchange judges: a conversation of turns, and a draft of choices.
import type { ChatMessage } from '../critique.ts';

/** Tokens of a model call, in OpenAI's names (every protocol's usage is converted to these). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [detail: string]: unknown;
}

export const zeroUsage = (): Usage => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** `a` plus `b`'s tokens (the details `a` carries, such as cached tokens, are kept as they are). */
export const addUsage = (a: Usage, b: Usage): Usage => ({
  ...a,
  prompt_tokens: a.prompt_tokens + b.prompt_tokens,
  completion_tokens: a.completion_tokens + b.completion_tokens,
  total_tokens: a.total_tokens + b.total_tokens,
});

/** A tool call as every protocol has it: an id, a function name, and its arguments as JSON text. */
export interface ToolCallPart {
  id: string;
  name: string;
  arguments: string;
}

/** One turn of a conversation: its text parts joined, and the tool calls or tool result it carries. */
export interface Turn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The turn's text parts, joined with a newline ('' when it has none: images, tool calls only). */
  text: string;
  toolCalls?: ToolCallPart[];
  /** For a tool turn: the id of the call this is the result of. */
  toolCallId?: string;
}

/** What a request asks, whatever its protocol. */
export interface Conversation {
  turns: Turn[];
  /**
   * Earlier turns the client did not send because the upstream keeps them (`previous_response_id`): they
   * cannot be judged, and the record says so.
   */
  serverSideHistory?: string | undefined;
}

/** One answer of a draft (one choice; the Responses and Messages APIs have exactly one). */
export interface DraftChoice {
  index: number;
  /** The answer's text parts, joined; null when it has none (tool calls only). */
  text: string | null;
  toolCalls: ToolCallPart[];
  finishReason: string | null;
}

/** The upstream's answer as the exchange judges it. */
export interface Draft {
  choices: DraftChoice[];
  /** The client's model's tokens for the draft, when the upstream reported them. */
  usage: Usage | null;
}

/** What becomes of one choice: kept as the upstream wrote it, its text replaced by a revision, or refused. */
export type FinalChoice =
  | { index: number; kind: 'unchanged' }
  | {
      index: number;
      kind: 'revised';
      text: string;
      /** Set when a revision re-made the choice's tool calls (a tool call broke a principle): these replace them. */
      toolCalls?: ToolCallPart[];
    }
  | { index: number; kind: 'refused'; message: string };

/** The text a user wrote last: what input principles judge. */
export function promptOf(conversation: Conversation): string {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    const turn = conversation.turns[i];
    if (turn?.role === 'user') return turn.text;
  }
  return '';
}

/** The turns before the last user turn: the context input principles are judged in. */
export function contextOfPrompt(conversation: Conversation): Conversation {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    if (conversation.turns[i]?.role === 'user') return { turns: conversation.turns.slice(0, i) };
  }
  return { turns: conversation.turns };
}

/** The conversation as plain text turns, the way the critic and the reviser read it. */
export function criticMessages(conversation: Conversation): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const turn of conversation.turns) {
    let content = turn.text;
    if (!content && turn.toolCalls?.length)
      content = `[calls tools: ${turn.toolCalls.map((t) => t.name || '?').join(', ')}]`;
    if (!content) continue;
    out.push({
      role: turn.role === 'tool' ? 'user' : turn.role,
      content: turn.role === 'tool' ? `[tool result] ${content}` : content,
    });
  }
  return out;
}

/** A draft of one text answer (replay, `tenet test`, and protocols with a single answer). */
export function textDraft(text: string | null, finishReason: string | null = 'stop'): Draft {
  return { choices: [{ index: 0, text, toolCalls: [], finishReason }], usage: null };
}

/** Splits text at word ends into pieces of about `size` characters that join back to it exactly (how every
 * protocol streams a text Tenet wrote: deltas the size a model would send). */
export function textPieces(text: string, size = 48): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > size) {
    const cut = rest.lastIndexOf(' ', size);
    const at = cut > 0 ? cut + 1 : size;
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) out.push(rest);
  return out;
}
