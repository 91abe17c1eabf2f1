// OpenAI's legacy Completions API (`POST /v1/completions`) as a Tenet protocol: prompts in, `text_completion` out.
import type { TenetError } from '../../core/errors.ts';
import type { Protocol } from '../../core/exchange/protocol.ts';
import { containsDone, sseError } from '../../core/sse.ts';
import { chunkEnding } from '../chunk-ending.ts';
import {
  applyFinalToTextCompletion,
  draftOfTextCompletion,
  readTextCompletion,
  refusalTextCompletion,
  type TextCompletion,
} from './answer.ts';
import { TextCompletionDeltaCodec } from './delta-codec.ts';
import { type CompletionsRequest, parseCompletionsRequest } from './request.ts';
import { TextCompletionAssembler, textCompletionToSse } from './stream.ts';

export type { CompletionsRequest, TextCompletion };

export const completionsProtocol: Protocol<CompletionsRequest, TextCompletion> = {
  id: 'completions',
  path: '/v1/completions',
  upstream: 'openai',
  upstreamPath: '/completions',
  parse: parseCompletionsRequest,
  readAnswer: readTextCompletion,
  assembler: () => new TextCompletionAssembler(),
  streamEnded: containsDone,
  draftOf: draftOfTextCompletion,
  applyFinal: (answer, finals, revisionUsage) => applyFinalToTextCompletion(answer, finals, revisionUsage),
  refusal: refusalTextCompletion,
  toSse: (answer, request) =>
    textCompletionToSse(answer, { includeUsage: request.body.stream_options?.include_usage === true }),
  // The OpenAI shape every Tenet error already has.
  errorBody: (err: TenetError) => err.toBody(),
  sseError: (err: TenetError) => sseError(err.toBody()),
  deltaCodec: () => new TextCompletionDeltaCodec(),
  streamEnding: (request) =>
    chunkEnding({
      object: 'text_completion',
      includeUsage: request.body.stream_options?.include_usage === true,
      choice: (index, text, finish) => ({ text: text ?? '', index, logprobs: null, finish_reason: finish }),
    }),
};
