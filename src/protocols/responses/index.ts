// The OpenAI Responses API (`POST /v1/responses`) as a Tenet protocol.
import type { Protocol } from '../../core/exchange/protocol.ts';
import { applyFinalToResponse, draftOfResponse, readResponse, refusalResponse } from './answer.ts';
import { responsesDeltaCodec } from './delta-codec.ts';
import { responsesEnding } from './ending.ts';
import { responsesErrorBody, responsesSseError } from './errors.ts';
import { parseResponsesRequest, type ResponsesRequest } from './request.ts';
import type { ResponseObject } from './shape.ts';
import { ResponseAssembler, responseStreamEnded, responseToSse } from './stream.ts';

export type { ResponseObject, ResponsesRequest };

export const responsesProtocol: Protocol<ResponsesRequest, ResponseObject> = {
  id: 'responses',
  path: '/v1/responses',
  upstream: 'openai',
  upstreamPath: '/responses',
  parse: parseResponsesRequest,
  readAnswer: readResponse,
  assembler: () => new ResponseAssembler(),
  streamEnded: responseStreamEnded,
  draftOf: draftOfResponse,
  applyFinal: (answer, finals, revisionUsage) => applyFinalToResponse(answer, finals, revisionUsage),
  refusal: refusalResponse,
  toSse: (answer) => responseToSse(answer),
  errorBody: responsesErrorBody,
  sseError: responsesSseError,
  deltaCodec: responsesDeltaCodec,
  streamEnding: () => responsesEnding(),
};
