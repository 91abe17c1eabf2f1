// The typed context every route and middleware shares: the app's dependencies and per-request variables.

import type { Context } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { ClientAuthVariables } from '../../middleware/client-auth.ts';
import type { RequestIdVariables } from '../../middleware/request-id.ts';
import type { SelectConstitutionVariables } from '../../middleware/select-constitution.ts';
import type { AdminSessions, AuthThrottle } from '../adapters/admin-state.ts';
import type { LogWriter } from '../adapters/log-writer.ts';
import type { ModelClient } from '../adapters/model-client.ts';
import type { Upstream } from '../adapters/upstream.ts';
import type { Config } from '../core/config.ts';
import type { ConstitutionSource } from '../core/constitution/set.ts';
import type { SseRelay } from '../core/exchange/sse-relay.ts';
import type { LogStore } from '../core/log-store.ts';
import type { Logger } from '../core/logger.ts';
import type { VerdictCache } from '../core/loop.ts';
import type { Redactor } from '../core/redact.ts';

/** What createApp needs from the runtime: everything that talks to the world comes in here. */
export interface AppDeps {
  config: Config;
  /** The OpenAI-compatible upstream (chat completions, responses, completions, and the routes passed through). */
  upstream: Upstream;
  /** The Anthropic API (messages, count_tokens, and requests that carry `anthropic-version`). */
  anthropicUpstream: Upstream;
  constitutions: ConstitutionSource;
  /** The critic model's endpoint (TENET_CRITIC_URL / KEY). */
  critic: ModelClient;
  /** The client's model for revisions (the upstream). */
  reviser: ModelClient;
  /** The client's Claude model for revisions of Anthropic Messages requests. */
  anthropicReviser: ModelClient;
  verdictCache: VerdictCache | undefined;
  /** The violation log (reads: admin API, dashboard). Writes go through `logWriter`. */
  logStore: LogStore;
  /** Writes records after the response, batched and retried; its counts show on /health. */
  logWriter: LogWriter;
  logger: Logger;
  redact: Redactor;
  /** Shown on /health. */
  runtime: 'workers' | 'node';
  /** Dashboard sessions, kept where every isolate or process sees them (revocable on sign-out). */
  adminSessions: AdminSessions;
  /** Failed admin sign-ins per address (undefined: no limit). */
  authThrottle: AuthThrottle | undefined;
  /** The client's network address (Node: the socket's; Workers: cf-connecting-ip), if known. */
  clientAddress: (c: Context) => string | undefined;
  /** The port the server listens on (Node), for the open proxy's Host check; undefined on Workers. */
  boundPort: (c: Context) => number | undefined;
  /**
   * The body a relayed stream goes out as (unset: its web stream). Node's server reads the relay itself: no web
   * stream is built per answer.
   */
  relayBody?: ((c: Context, relay: SseRelay) => ReadableStream<Uint8Array>) | undefined;
}

export interface AppEnv {
  Variables: ClientAuthVariables & SelectConstitutionVariables & RequestIdVariables & { deps: AppDeps };
}

/** Statuses a response with a body may carry (no 1xx, 204, 205 or 304): what Hono's `c.json` and `c.html` take. */
export function isContentfulStatus(status: number): status is ContentfulStatusCode {
  return status >= 200 && status <= 599 && status !== 204 && status !== 205 && status !== 304;
}

/** A `TenetError`'s status as Hono's type; one outside that range (never one of ours) answers 500. */
export const contentfulStatus = (status: number): ContentfulStatusCode =>
  isContentfulStatus(status) ? status : 500;

const isStatusCode = (status: number): status is StatusCode => status >= 100 && status <= 599;

/** A status `fetch` handed us (200–599 by the fetch standard) as Hono's type: one outside that range answers 502. */
export const statusCode = (status: number): StatusCode => (isStatusCode(status) ? status : 502);
