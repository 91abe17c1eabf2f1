// Client for the scripted upstream's control API; only global fetch, so it runs in Node and in workerd.
/*
 * Each scenario is an isolated reply queue + request log on one shared server, so tests run in parallel.
 *
 *   const upstream = await startUpstream();                 // Node side, from ./server.ts
 *   const scenario = await createScenario(upstream.url);
 *   await scenario.script([
 *     { json: completion('Paris is the capital.') },        // first draft call
 *     { match: { jsonSchemaName: 'critique' }, json: jsonCompletion({ violations: [] }), times: 'always' },
 *     { match: { stream: true }, stream: chunks('Hi there'), chunkDelayMs: 20 },
 *     apiError(429, 'slow down', { code: 'rate_limit_exceeded' }),
 *   ]);
 *   // point the proxy under test at scenario.baseURL (`${upstream.url}/s/<id>/v1`), call it, then:
 *   const [first] = await scenario.requests();              // method, path '/v1/chat/completions', headers, json
 *
 * Replies are tried in queue order; the first whose `match` fits answers (`times` uses, default 1).
 * Unmatched calls get the default: chat completions echo `echo: <last user message>` (streamed when asked),
 * GET /models lists `scripted-model`, anything else is a 404 OpenAI error.
 */
import type { RecordedRequest, ReplySpec } from './script.js';

export type { RecordedRequest, ReplyMatch, ReplySpec } from './script.js';

export interface Scenario {
  readonly id: string;
  /** The upstream base URL a proxy under test should use: `${upstreamUrl}/s/${id}/v1`. */
  readonly baseURL: string;
  /** Appends replies to the scenario's queue. */
  script(replies: ReplySpec[]): Promise<void>;
  /** Every upstream call the scenario received, oldest first. */
  requests(): Promise<RecordedRequest[]>;
  /** Empties the queue and the request log. */
  reset(): Promise<void>;
}

async function call(url: string, init: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`scripted upstream ${init.method ?? 'GET'} ${url} -> ${res.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

const post = (url: string, body?: unknown): Promise<unknown> =>
  call(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });

/** Creates a fresh scenario on the scripted upstream at `upstreamUrl` (e.g. `http://127.0.0.1:PORT`). */
export async function createScenario(upstreamUrl: string): Promise<Scenario> {
  const root = upstreamUrl.replace(/\/+$/, '');
  const { id } = (await post(`${root}/__scenarios`)) as { id: string };
  const prefix = `${root}/s/${id}`;
  return {
    id,
    baseURL: `${prefix}/v1`,
    async script(replies) {
      await post(`${prefix}/__script`, { replies });
    },
    async requests() {
      const { requests } = (await call(`${prefix}/__requests`, { method: 'GET' })) as {
        requests: RecordedRequest[];
      };
      return requests;
    },
    async reset() {
      await post(`${prefix}/__reset`);
    },
  };
}
