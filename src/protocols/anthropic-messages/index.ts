// Anthropic's Messages API (`POST /v1/messages`) as a protocol of the exchange.

import type { ParsedRequest, Protocol } from '../../core/exchange/protocol.ts';
import {
  applyFinalToMessage,
  draftOfMessage,
  type MessageAnswer,
  readMessageAnswer,
  refusalMessage,
} from './answer.ts';
import { messagesDeltaCodec } from './delta-codec.ts';
import { messagesEnding } from './ending.ts';
import { messagesErrorBody, messagesSseError } from './errors.ts';
import { conversationOf, type MessagesRequest, parseMessagesRequest } from './request.ts';
import { MessageAssembler, messageStreamEnded, messageToSse } from './stream.ts';

export type { MessageAnswer, MessagesRequest };

export const messagesProtocol: Protocol<MessagesRequest, MessageAnswer> = {
  id: 'messages',
  path: '/v1/messages',
  upstream: 'anthropic',
  // Anthropic's base URL (https://api.anthropic.com) has no /v1: the path carries it.
  upstreamPath: '/v1/messages',
  parse(text): ParsedRequest<MessagesRequest> {
    const body = parseMessagesRequest(text);
    return {
      body,
      model: body.model,
      stream: body.stream === true,
      conversation: conversationOf(body),
      choices: 1,
      temperature: body.temperature ?? undefined,
      maxTokens: body.max_tokens,
      // Revisions go to the Anthropic API: its own tools and tool_choice, as the client sent them.
      contract: {
        wire: {
          ...(body.tools ? { tools: body.tools } : {}),
          ...(body.tool_choice ? { tool_choice: body.tool_choice } : {}),
        },
        maxTokens: body.max_tokens,
      },
    };
  },
  readAnswer: readMessageAnswer,
  assembler: () => new MessageAssembler(),
  streamEnded: messageStreamEnded,
  draftOf: draftOfMessage,
  applyFinal: (answer, finals, revisionUsage) => applyFinalToMessage(answer, finals, revisionUsage),
  refusal: (request, message) => refusalMessage(request.model, message),
  toSse: (answer) => messageToSse(answer),
  streamEnding: () => messagesEnding(),
  errorBody: messagesErrorBody,
  sseError: messagesSseError,
  deltaCodec: messagesDeltaCodec,
};
