// Builds the app's dependencies from a parsed config: the same wiring for both runtimes.
import { createAnthropicClient } from '../adapters/anthropic-client.ts';
import { createLogWriter, disabledLogWriter } from '../adapters/log-writer.ts';
import { createModelClient } from '../adapters/model-client.ts';
import { createUpstream, type Upstream, type UpstreamOptions } from '../adapters/upstream.ts';
import type { Config } from '../core/config.ts';
import { secretsOf } from '../core/config.ts';
import type { ConstitutionSource } from '../core/constitution/set.ts';
import type { LogStore } from '../core/log-store.ts';
import { createLogger, type Logger, type LogSink } from '../core/logger.ts';
import type { VerdictCache } from '../core/loop.ts';
import { createRedactor, type Redactor } from '../core/redact.ts';
import type { AppDeps } from '../http/app.ts';

/** The redactor and the logger of a config: every log line is scrubbed of its secrets. */
export function loggingFor(config: Config, sink?: LogSink): { redact: Redactor; logger: Logger } {
  const redact = createRedactor(secretsOf(config));
  return { redact, logger: createLogger(redact, sink ? { sink } : {}) };
}

export interface BuildOptions {
  runtime: AppDeps['runtime'];
  constitutions: ConstitutionSource;
  logging: { redact: Redactor; logger: Logger };
  logStore: LogStore;
  /** The runtime's verdict cache (undefined: none, or TENET_VERDICT_CACHE_TTL_S=0). */
  verdictCache?: VerdictCache | undefined;
  fetch?: typeof fetch;
  /** The runtime's upstream client (Node: undici's dispatcher); fetch's by default, and whenever `fetch` is given. */
  upstream?: (options: UpstreamOptions) => Upstream;
  /** The fetch the Anthropic revisions use (Node: node:http); the global fetch by default. */
  modelFetch?: typeof fetch;
  adminSessions: AppDeps['adminSessions'];
  authThrottle: AppDeps['authThrottle'];
  clientAddress: AppDeps['clientAddress'];
  boundPort: AppDeps['boundPort'];
  relayBody?: AppDeps['relayBody'];
}

export function buildDeps(config: Config, options: BuildOptions): AppDeps {
  const upstreamOptions = {
    baseUrl: config.upstreamUrl,
    apiKey: config.upstreamKey,
    timeoutMs: config.upstreamTimeoutMs,
  };
  const makeUpstream = (o: UpstreamOptions) =>
    options.fetch ? createUpstream({ ...o, fetch: options.fetch }) : (options.upstream ?? createUpstream)(o);
  const upstream = makeUpstream(upstreamOptions);
  const anthropicUpstream = makeUpstream({
    baseUrl: config.anthropicUpstreamUrl,
    apiKey: config.anthropicUpstreamKey,
    timeoutMs: config.upstreamTimeoutMs,
    auth: 'x-api-key',
  });
  const modelFetch = options.fetch ?? options.modelFetch;
  const fetchOption = modelFetch ? { fetch: modelFetch } : {};
  // The OpenAI-compatible model calls go over the draft's transport (undici's dispatcher on Node, fetch on Workers).
  const transport = { upstream: makeUpstream };
  return {
    config,
    upstream,
    anthropicUpstream,
    critic: createModelClient({
      baseURL: config.criticUrl,
      apiKey: config.criticKey,
      timeoutMs: config.criticTimeoutMs,
      ...transport,
    }),
    reviser: createModelClient({
      baseURL: config.upstreamUrl,
      apiKey: config.upstreamKey,
      timeoutMs: config.criticTimeoutMs,
      ...transport,
    }),
    anthropicReviser: createAnthropicClient({
      baseURL: config.anthropicUpstreamUrl,
      apiKey: config.anthropicUpstreamKey,
      timeoutMs: config.criticTimeoutMs,
      ...fetchOption,
    }),
    verdictCache: config.verdictCacheTtlSeconds > 0 ? options.verdictCache : undefined,
    logStore: options.logStore,
    logWriter: config.logEnabled
      ? createLogWriter(options.logStore, {
          logger: options.logging.logger,
          // Node: one queue for the process; records are written together, off the request path (one
          // transaction for many), and kept through a store outage. A batch goes when it holds 100 records or its
          // first has waited 100 ms: SQLite spends ~0.05 ms of CPU a record in batches of 100, ~0.08 ms in
          // batches of 25 and ~0.2 ms in batches of 5 (each transaction writes every page it touched to the
          // WAL). Workers: each request's waitUntil writes its own record (an isolate's timers and I/O cannot
          // outlive the request that started them).
          ...(options.runtime === 'node'
            ? { scope: 'process', lingerMs: 100, batchSize: 100 }
            : { scope: 'request' }),
        })
      : disabledLogWriter(),
    constitutions: options.constitutions,
    ...options.logging,
    runtime: options.runtime,
    adminSessions: options.adminSessions,
    authThrottle: config.adminAuthFailures > 0 ? options.authThrottle : undefined,
    clientAddress: options.clientAddress,
    boundPort: options.boundPort,
    relayBody: options.relayBody,
  };
}

/** Start-up problems between settings and constitutions: a default that names no loaded constitution. */
export function constitutionSettingProblems(config: Config, source: ConstitutionSource): string[] {
  const available = source.names().join(', ') || 'none';
  const problems: string[] = [];
  if (!source.get(config.constitution)) {
    problems.push(
      `TENET_CONSTITUTION: no constitution named "${config.constitution}" (available: ${available})`,
    );
  }
  for (const [key, { default: first, allowed }] of Object.entries(config.keyConstitutions)) {
    for (const name of allowed ?? [first]) {
      if (source.get(name)) continue;
      problems.push(
        `TENET_KEY_CONSTITUTIONS: key "${key}" names "${name}", which is not a constitution (available: ${available})`,
      );
    }
  }
  return problems;
}

/** The throttle's limits from the settings. */
export function throttleLimits(config: Config): { failures: number; windowMs: number } {
  return { failures: config.adminAuthFailures, windowMs: config.adminAuthWindowMs };
}
