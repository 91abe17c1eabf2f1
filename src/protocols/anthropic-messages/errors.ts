// Errors in the Messages API's shape: `{"type":"error","error":{"type","message"}}`, as a body or a stream event.
import type { TenetError } from '../../core/errors.ts';

/** The Messages API's error body (the SDK picks its error class from the HTTP status, and shows `type`). */
export interface MessagesErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

const typeByStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** The API's error type for an HTTP status: other 4xx are invalid requests, other 5xx `api_error`. */
export function anthropicErrorType(status: number): string {
  return typeByStatus[status] ?? (status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error');
}

/**
 * The body of an HTTP error. The type follows the status, not the TenetError's own (OpenAI-named) type, so an
 * SDK user sees the names Anthropic documents; the param a 400 names is already in the message.
 */
export function messagesErrorBody(err: TenetError): MessagesErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(err.status), message: err.message } };
}

/** An `error` event ending a stream already started: the SDK's stream raises it as an APIError. */
export function messagesSseError(err: TenetError): string {
  return `event: error\ndata: ${JSON.stringify(messagesErrorBody(err))}\n\n`;
}
