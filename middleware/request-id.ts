// Request ids: every request gets Tenet's own id (the record's key); a client's own id is kept apart and echoed.
import { createMiddleware } from 'hono/factory';

export interface RequestIdVariables {
  /** Tenet's id for this request: the record's id, sent back as `x-tenet-request-id`. Never the client's. */
  requestId: string;
  /** The client's own id (`x-client-request-id`, or `x-tenet-request-id` on the request), if it sent a usable one. */
  clientRequestId: string | undefined;
}

export const requestIdHeader = 'x-tenet-request-id';
export const clientRequestIdHeader = 'x-client-request-id';

/** OpenAI's rule for `x-client-request-id`: printable ASCII, at most 512 characters. */
const usableClientId = /^[\x20-\x7e]{1,512}$/;

/**
 * `req_` and 32 hex digits: the time in ms (12 digits, as in a UUIDv7) then 80 random bits. Ids in time order
 * keep the log's primary-key index appending at its end (and its pages in cache) instead of writing a random
 * page of it per record; within one millisecond the random part orders them.
 */
export function newRequestId(now = Date.now()): string {
  // The random bits come from randomUUID, which Node serves from a cached pool (getRandomValues asks the system
  // on every call, a measurable cost per request): its 32 hex digits less the version (12) and variant (16) ones.
  const uuid = crypto.randomUUID();
  const random = uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(20, 23) + uuid.slice(24, 29);
  return `req_${Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12)}${random}`;
}

/**
 * The id headers, for a route that builds its own Response from a plain record of headers (a generation route):
 * Hono's `c.body` would merge them from the Headers the middleware prepared, and the Node server would read them
 * back out of a Headers, both measurable per request. Such a response carries them only through this.
 */
export function idHeaders(ids: RequestIdVariables): Record<string, string> {
  return ids.clientRequestId === undefined
    ? { [requestIdHeader]: ids.requestId }
    : { [requestIdHeader]: ids.requestId, [clientRequestIdHeader]: ids.clientRequestId };
}

/**
 * A client-chosen id never names a record: if it did, a client could reuse one id for a harmless and a blocked
 * request and only the first would be logged. It is stored as `client_request_id` and echoed back instead; an id
 * that is not printable ASCII or too long is ignored (the request is served and recorded all the same).
 */
export function requestIds() {
  return createMiddleware<{ Variables: RequestIdVariables }>(async (c, next) => {
    const id = newRequestId();
    const asked = (c.req.header(clientRequestIdHeader) ?? c.req.header(requestIdHeader))?.trim();
    const clientId = asked !== undefined && usableClientId.test(asked) ? asked : undefined;
    c.set('requestId', id);
    c.set('clientRequestId', clientId);
    // Set before the handler answers: headers set on a finished response make the Node server rebuild it (its
    // lightweight response becomes a full web Response), a measurable cost on every request.
    c.header(requestIdHeader, id);
    if (clientId !== undefined) c.header(clientRequestIdHeader, clientId);
    await next();
  });
}
