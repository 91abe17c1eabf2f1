// Every client-facing API Tenet guards, one protocol each: the app routes them, the CLI and records name them.
import type { AnyProtocol, ProtocolId } from '../core/exchange/protocol.ts';
import { messagesProtocol } from './anthropic-messages/index.ts';
import { chatProtocol } from './chat-completions/index.ts';
import { completionsProtocol } from './completions/index.ts';
import { responsesProtocol } from './responses/index.ts';

export const protocols: readonly AnyProtocol[] = [
  chatProtocol,
  responsesProtocol,
  completionsProtocol,
  messagesProtocol,
];

export function protocolById(id: ProtocolId): AnyProtocol {
  return protocols.find((p) => p.id === id) as AnyProtocol;
}

export { chatProtocol, completionsProtocol, messagesProtocol, responsesProtocol };
