// Errors in the Responses API's shapes: the OpenAI HTTP error body, and the `error` event that ends a stream.
import type { TenetError } from '../../core/errors.ts';

/** The HTTP error body: `{"error":{"message","type","param","code"}}`. */
export function responsesErrorBody(err: TenetError): unknown {
  return err.toBody();
}

/**
 * The stream's `error` event. Besides the API's own fields it carries the error object under `error`: the
 * openai SDKs raise an APIError only for data with an `error` field (without it `finalResponse()` resolves with
 * the half-built response), and the Vercel AI SDK reads either form. The sequence number is 0: the interface
 * gives this function no stream to count in, and no SDK checks it.
 */
export function responsesSseError(err: TenetError): string {
  const body = err.toBody();
  const event = {
    type: 'error',
    sequence_number: 0,
    code: body.error.code,
    message: body.error.message,
    param: body.error.param,
    error: body.error,
  };
  return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
}
