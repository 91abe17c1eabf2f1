// Tenet's faults: one error class with a stable `code`, mapped to an OpenAI-shaped HTTP error in one place.

/** Stable error codes clients and logs can rely on. */
export const errorCodes = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_request: { status: 400, type: 'invalid_request_error' },
  missing_api_key: { status: 401, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  invalid_admin_token: { status: 401, type: 'invalid_request_error' },
  admin_closed: { status: 403, type: 'invalid_request_error' },
  forbidden: { status: 403, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  unguarded_route: { status: 403, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  headers_too_large: { status: 431, type: 'invalid_request_error' },
  unknown_constitution: { status: 400, type: 'invalid_request_error' },
  /** A pinned client key asked for a constitution outside its list (TENET_KEY_CONSTITUTIONS). */
  constitution_not_allowed: { status: 403, type: 'invalid_request_error' },
  /** A guarded route's body is not UTF-8 JSON text. */
  invalid_encoding: { status: 400, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  /** Too many failed admin sign-ins from one address (TENET_ADMIN_AUTH_FAILURES). */
  too_many_attempts: { status: 429, type: 'rate_limit_error' },
  /** An open proxy asked under a Host name it does not answer, or by a page of another site. */
  host_not_allowed: { status: 403, type: 'invalid_request_error' },
  content_blocked: { status: 400, type: 'invalid_request_error' },
  constitution_unavailable: { status: 500, type: 'server_error' },
  upstream_error: { status: 502, type: 'server_error' },
  /** The upstream refused Tenet's own key: Tenet's configuration, not the client's key. */
  upstream_auth_failed: { status: 502, type: 'server_error' },
  upstream_unreachable: { status: 502, type: 'server_error' },
  upstream_invalid_response: { status: 502, type: 'server_error' },
  upstream_stream_broken: { status: 502, type: 'server_error' },
  upstream_timeout: { status: 504, type: 'server_error' },
  config_invalid: { status: 500, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Stable codes of Tenet's own faults that never go on the wire (settings, files, the command line). */
export type FaultCode =
  | 'usage'
  | 'config_invalid'
  | 'constitution_invalid'
  | 'port_in_use'
  | 'admin_api_failed'
  | 'model_call_failed';

/**
 * The base of Tenet's own non-wire errors: a stable `code`, and the exit code the CLI ends with when one stops a
 * command (2: the command line was wrong, nothing ran; 1: it could not start or finish). `TenetError` is the wire one.
 */
export abstract class TenetFault extends Error {
  abstract readonly code: FaultCode;
  get exitCode(): 1 | 2 {
    return this.code === 'usage' ? 2 : 1;
  }
}

/** A mistake on the command line (a flag, an argument, a file it names): exit 2. */
export class UsageError extends TenetFault {
  readonly code = 'usage';
  override name = 'UsageError';
}

/** The wire shape of every error Tenet sends: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface TenetErrorOptions {
  param?: string | null;
  /** Overrides the code's default HTTP status (e.g. an upstream 429 passed through). */
  status?: number;
  /** Overrides the code's default error type (e.g. an upstream's own type passed through). */
  type?: string;
  /** Overrides the wire `code` (e.g. an upstream's own code passed through). */
  wireCode?: string | null;
  /** Headers the client should see with the error (e.g. an upstream's `retry-after`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class TenetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly wireCode: string | null;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: TenetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TenetError';
    this.code = code;
    this.status = options.status ?? errorCodes[code].status;
    this.type = options.type ?? errorCodes[code].type;
    this.param = options.param ?? null;
    this.wireCode = options.wireCode === undefined ? code : options.wireCode;
    this.headers = options.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.wireCode } };
  }
}
