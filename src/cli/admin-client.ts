// A small fetch client for a running Tenet's admin API: the URL and token from flags or the environment.
import { TenetFault } from '../core/errors.ts';

export interface AdminClientOptions {
  url: string;
  token: string | undefined;
  fetch?: typeof fetch;
}

/** An HTTP or auth failure of the admin API, with the server's message (never the token). */
export class AdminApiError extends TenetFault {
  readonly code = 'admin_api_failed';
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'AdminApiError';
    this.status = status;
  }
}

export interface AdminClient {
  readonly url: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** The raw response of a GET (for streamed exports); throws on an error status. */
  stream(path: string, query?: Record<string, string | number | undefined>): Promise<Response>;
}

/** The flags naming a running Tenet and its admin token (`adminClientFrom`). */
export const adminTargetOptions = { url: { type: 'string' }, token: { type: 'string' } } as const;

/** The proxy's URL and the token: `--url` / `--token`, else TENET_URL / TENET_ADMIN_TOKEN, else the local default. */
export function adminClientFrom(
  flags: { url?: string | undefined; token?: string | undefined },
  env: Record<string, string | undefined> = process.env,
): AdminClient {
  return createAdminClient({
    url: flags.url || env['TENET_URL'] || 'http://127.0.0.1:8787',
    token: flags.token || env['TENET_ADMIN_TOKEN'] || undefined,
  });
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = `${options.url.replace(/\/+$/, '')}/admin/api`;
  const doFetch = options.fetch ?? fetch;
  const { token } = options;

  const call = async (
    path: string,
    init: RequestInit,
    query?: Record<string, string | number | undefined>,
  ) => {
    if (!token) {
      throw new AdminApiError('no admin token: set TENET_ADMIN_TOKEN or pass --token', 0);
    }
    const target = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) target.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await doFetch(target, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
      });
    } catch (err) {
      const why =
        err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new AdminApiError(`cannot reach Tenet at ${options.url}: ${why}`, 0);
    }
    if (!res.ok) {
      const body = await res.text();
      let message = body.slice(0, 500);
      try {
        message = (JSON.parse(body) as { error: { message: string } }).error.message;
      } catch {
        // not an OpenAI-shaped error: show the text
      }
      // The server never echoes the token, but a proxy in between might: scrub it anyway.
      throw new AdminApiError(`HTTP ${res.status}: ${message.replaceAll(token, '***')}`, res.status);
    }
    return res;
  };

  return {
    url: options.url,
    async get<T>(path: string, query?: Record<string, string | number | undefined>) {
      return (await (await call(path, { method: 'GET' }, query)).json()) as T;
    },
    async post<T>(path: string, body: unknown) {
      const init = {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      };
      return (await (await call(path, init)).json()) as T;
    },
    stream: (path, query) => call(path, { method: 'GET' }, query),
  };
}
